// Package flow is the flow engine: a flow is an ordered list of stage
// bindings, gated by policies. The planner turns a flow into a plan for
// one user (evaluating policies marked evaluate_on_plan), the plan lives
// server-side in the session, and the executor walks it one stage at a time.
// A stage produces a typed challenge and consumes a response; the same
// challenge is rendered as HTML by internal/web and as JSON by the flow
// executor API, as Authentik's /if/flow/<slug>/ and
// /api/v3/flows/executor/<slug>/ do.
//
// Stage kinds live in internal/flow/stage and are passed to NewExecutor, so
// the engine does not depend on them.
//
// The engine knows no transport, so that a front end without HTTP (the
// LDAP bind) runs the same flows: a Request describes its client (Client)
// instead of carrying an HTTP request, and a Result carries no HTTP status
// (Failure says why a flow could not run; Cookies are the cookies stages
// set, for the front end to send). internal/flowhttp translates for HTTP.
// Nothing under internal/flow imports net/http (TestEngineKnowsNoHTTP).
package flow
