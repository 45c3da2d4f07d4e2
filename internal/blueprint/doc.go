// Package blueprint reads Authentik blueprints (YAML files that declare
// flows, stages, policies, bindings, groups, users and invitations) and
// applies them to one tenant's store, so that Authentik users can bring
// theirs and recognise ours.
//
// Parse checks a blueprint's shape and reports problems with their YAML line
// and entry index; Apply evaluates its tags (!KeyOf, !Find, !Env, !Context,
// !Format, !If, !Condition, ...) and writes every entry in one transaction:
// an error anywhere rolls the whole blueprint back. Applying a blueprint
// twice changes nothing the second time. ApplyDefaults applies the
// blueprints embedded in package blueprints (the default flows) with
// Options.OnlyCreate, so re-applying them at every start never clobbers
// what an admin has edited since.
//
// Each blueprint model (authentik_flows.flow, authentik_stages_prompt.prompt,
// authentik_policies.policybinding, ...) is handled by a Model registered
// under its Authentik name; supporting a new one is one Register call.
//
// Dependencies: go.yaml.in/yaml/v3 (the maintained successor of
// gopkg.in/yaml.v3) because it exposes the node tree with tags, anchors and
// line numbers, which custom tags and useful error messages need, and it
// bounds nesting depth. It does not expand aliases while building nodes, so
// Parse counts the expanded size itself and refuses alias bombs.
package blueprint
