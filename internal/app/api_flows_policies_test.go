package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Policies, their bindings, property mappings and the permissions of every
// resource of api_flows_test.go.

var policyKinds = []struct {
	path, model  string
	create       map[string]any
	defaultKey   string
	defaultValue any
	patchKey     string
	patchValue   any
}{
	{"policies/expression/", "authentik_policies_expression.expressionpolicy", map[string]any{"expression": "return True"},
		"execution_logging", false, "expression", "return request.user.is_active"},
	{"policies/password/", "authentik_policies_password.passwordpolicy", map[string]any{"length_min": 12},
		"check_static_rules", true, "amount_digits", 2.0},
	{"policies/reputation/", "authentik_policies_reputation.reputationpolicy", map[string]any{"check_ip": false},
		"threshold", -5.0, "threshold", -3.0},
	{"policies/password_expiry/", "authentik_policies_expiry.passwordexpirypolicy", map[string]any{"deny_only": true},
		"days", 90.0, "days", 30.0},
	{"policies/dummy/", "authentik_policies_dummy.dummypolicy", map[string]any{"result": true},
		"wait_max", 0.0, "execution_logging", true},
}

func TestAPIFlowsPolicyKinds(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	for i, k := range policyKinds {
		name := fmt.Sprintf("policy-%d", i)
		body := map[string]any{"name": name}
		for key, v := range k.create {
			body[key] = v
		}
		p := admin.create(k.path, body)
		id := p["pk"].(string)
		if p["meta_model_name"] != k.model || !sameJSONValue(p[k.defaultKey], k.defaultValue) {
			t.Errorf("%s: %v, want model %s and %s=%v", k.path, p, k.model, k.defaultKey, k.defaultValue)
		}
		r := admin.call("PATCH", k.path+id+"/", map[string]any{k.patchKey: k.patchValue}, true, "If-Match", `"1"`)
		if r.status != 200 || !sameJSONValue(r.json(t)[k.patchKey], k.patchValue) {
			t.Errorf("%s: PATCH: %d %s", k.path, r.status, r.body)
		}
		for key, v := range k.create {
			if key != k.patchKey && !sameJSONValue(r.json(t)[key], v) {
				t.Errorf("%s: PATCH lost %s: %s", k.path, key, r.body)
			}
		}
		if r := admin.call("PATCH", k.path+id+"/", map[string]any{"name": "lost"}, true, "If-Match", `"1"`); r.status != 412 {
			t.Errorf("%s: stale ETag: %d, want 412", k.path, r.status)
		}
		all := admin.call("GET", "policies/all/?search="+name, nil, true).results(t)
		if len(all) != 1 || all[0]["meta_model_name"] != k.model {
			t.Errorf("policies/all/ for %s: %v", k.path, all)
		}
		if r := admin.call("DELETE", k.path+id+"/", nil, true); r.status != 204 {
			t.Errorf("%s: DELETE: %d", k.path, r.status)
		}
	}
	admin.refuses(t, map[string]badInput{
		"syntax error":        {"POST", "policies/expression/", `{"name":"x","expression":"return (("}`, 400, []string{"expression"}},
		"missing expression":  {"POST", "policies/expression/", `{"name":"x"}`, 400, []string{"expression"}},
		"zero days":           {"POST", "policies/password_expiry/", `{"name":"x","days":0}`, 400, []string{"days"}},
		"long wait":           {"POST", "policies/dummy/", `{"name":"x","wait_min":1,"wait_max":700}`, 400, []string{"wait_max"}},
		"wrong type":          {"POST", "policies/reputation/", `{"name":"x","threshold":"low"}`, 400, []string{"threshold"}},
		"hibp is not offered": {"POST", "policies/password/", `{"name":"x","check_have_i_been_pwned":true}`, 400, []string{"check_have_i_been_pwned"}},
	})
}

func TestAPIFlowsPolicyTest(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	alice := e.createUser("alice", "Alice-Password-1", store.UserInternal)
	p := admin.create("policies/expression/", map[string]any{"name": "greeter",
		"expression": "ak_message(\"hello \" + request.user.username)\nreturn request.context.get(\"ok\", False)"})["pk"].(string)
	test := func(c *apiClient, body map[string]any) apiResp {
		t.Helper()
		return c.call("POST", "policies/all/"+p+"/test/", body, true)
	}
	r := test(admin, map[string]any{"user": alice.ID, "context": map[string]any{"ok": true}})
	if res := r.json(t); r.status != 200 || res["passing"] != true || !sameJSONValue(res["messages"], []string{"hello alice"}) {
		t.Errorf("test with ok: %d %s", r.status, r.body)
	}
	if res := test(admin, map[string]any{"user": alice.ID}).json(t); res["passing"] != false {
		t.Errorf("test without ok: %v", res)
	}
	failing := admin.create("policies/expression/", map[string]any{"name": "broken", "expression": "fail(\"boom\")"})["pk"].(string)
	r = admin.call("POST", "policies/all/"+failing+"/test/", map[string]any{"user": alice.ID}, true)
	if res := r.json(t); res["passing"] != false || !strings.Contains(string(r.body), "boom") {
		t.Errorf("a policy that raises: %s, want it failing with the error in log_messages", r.body)
	}
	if r := test(admin, map[string]any{"context": map[string]any{}}); r.status != 400 || !r.fieldError("user") {
		t.Errorf("no user: %d %s", r.status, r.body)
	}
	if r := test(admin, map[string]any{"user": uuid.New()}); r.status != 400 || !r.fieldError("user") {
		t.Errorf("unknown user: %d %s", r.status, r.body)
	}
	if r := admin.call("POST", "policies/all/"+uuid.NewString()+"/test/", map[string]any{"user": alice.ID}, true); r.status != 404 {
		t.Errorf("unknown policy: %d", r.status)
	}
	// Authentik's permission: viewing policies lets one test them.
	carol := e.createUser("carol", "Carol-Password-1", store.UserInternal)
	cc := e.apiAs(carol)
	if r := test(cc, map[string]any{"user": alice.ID}); r.status != 403 {
		t.Errorf("test without view_policy: %d", r.status)
	}
	e.grant(carol, "authentik_policies.view_policy")
	if r := test(cc, map[string]any{"user": alice.ID}); r.status != 200 {
		t.Errorf("test with view_policy: %d %s", r.status, r.body)
	}
}

// grant gives u a new role with perms, through a group of its own.
func (e *testEnv) grant(u *store.User, perms ...string) {
	e.t.Helper()
	ctx := context.Background()
	g := &store.Group{Name: "grant-" + uuid.NewString()}
	role := &store.Role{Name: "role-" + uuid.NewString()}
	for _, err := range []error{e.sc.Groups().Create(ctx, g), e.sc.Groups().AddMember(ctx, g.ID, u.ID),
		e.sc.Roles().Create(ctx, role), e.sc.Roles().SetPermissions(ctx, role.ID, perms),
		e.sc.Roles().AssignToGroup(ctx, role.ID, g.ID)} {
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

func TestAPIFlowsPolicyBindings(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	other := e.otherTenant()
	ctx := context.Background()
	login, err := e.sc.Flows().GetBySlug(ctx, "default-authentication-flow")
	if err != nil {
		t.Fatal(err)
	}
	fsb := admin.call("GET", "flows/bindings/?target="+login.ID.String(), nil, true).results(t)[0]["pk"]
	pol := admin.create("policies/dummy/", map[string]any{"name": "yes", "result": true})["pk"]
	grp := admin.create("core/groups/", map[string]any{"name": "staff"})["pk"]
	bob := e.createUser("bob", "Bob-Password-1", store.UserInternal)
	notATarget := admin.create("stages/dummy/", map[string]any{"name": "not-a-target"})["pk"]

	b := admin.create("policies/bindings/", map[string]any{"target": login.ID, "policy": pol, "order": 10})
	if b["enabled"] != true || b["timeout"] != 30.0 || b["negate"] != false || b["group"] != nil {
		t.Errorf("binding defaults: %v", b)
	}
	admin.create("policies/bindings/", map[string]any{"target": login.ID, "group": grp, "order": 0, "negate": true})
	admin.create("policies/bindings/", map[string]any{"target": fsb, "user": bob.ID, "order": 0, "timeout": 5})
	if got := admin.call("GET", "policies/bindings/?target="+login.ID.String(), nil, true).results(t); len(got) != 2 ||
		got[0]["group"] != grp || got[1]["policy"] != pol {
		t.Errorf("the flow's bindings by order: %v", got)
	}
	id := b["pk"].(string)
	// Rebinding from a policy to a user: the policy must be cleared.
	if r := admin.call("PATCH", "policies/bindings/"+id+"/", map[string]any{"policy": nil, "user": bob.ID}, true,
		"If-Match", `"1"`); r.status != 200 || r.json(t)["user"] != bob.ID.String() || r.json(t)["policy"] != nil {
		t.Fatalf("PATCH policy to user: %d %s", r.status, r.body)
	}
	if r := admin.call("PATCH", "policies/bindings/"+id+"/", map[string]any{"order": 1}, true, "If-Match", `"1"`); r.status != 412 {
		t.Errorf("stale ETag: %d, want 412", r.status)
	}
	flow := login.ID.String()
	admin.refuses(t, map[string]badInput{
		"two at once":          {"POST", "policies/bindings/", fmt.Sprintf(`{"target":%q,"policy":%q,"group":%q,"order":1}`, flow, pol, grp), 400, []string{"policy"}},
		"none":                 {"POST", "policies/bindings/", fmt.Sprintf(`{"target":%q,"order":1}`, flow), 400, []string{"policy"}},
		"no such target":       {"POST", "policies/bindings/", fmt.Sprintf(`{"target":%q,"policy":%q,"order":1}`, uuid.New(), pol), 400, []string{"target"}},
		"a stage is no target": {"POST", "policies/bindings/", fmt.Sprintf(`{"target":%q,"policy":%q,"order":1}`, notATarget, pol), 400, []string{"target"}},
		"their flow":           {"POST", "policies/bindings/", fmt.Sprintf(`{"target":%q,"policy":%q,"order":1}`, other.flow, pol), 400, []string{"target"}},
		"their policy":         {"POST", "policies/bindings/", fmt.Sprintf(`{"target":%q,"policy":%q,"order":1}`, flow, other.policy), 400, []string{"policy"}},
		"their group":          {"POST", "policies/bindings/", fmt.Sprintf(`{"target":%q,"group":%q,"order":1}`, flow, other.group), 400, []string{"group"}},
		"their user":           {"PATCH", "policies/bindings/" + id + "/", fmt.Sprintf(`{"user":%q}`, other.user), 400, []string{"user"}},
		"long timeout":         {"POST", "policies/bindings/", fmt.Sprintf(`{"target":%q,"policy":%q,"order":1,"timeout":7200}`, flow, pol), 400, []string{"timeout"}},
		"wrong types":          {"POST", "policies/bindings/", `{"target":1,"policy":"x","order":1.5,"negate":"no"}`, 400, []string{"target", "policy", "order", "negate"}},
		"missing required":     {"POST", "policies/bindings/", fmt.Sprintf(`{"policy":%q}`, pol), 400, []string{"target", "order"}},
		"list without target":  {"GET", "policies/bindings/", nil, 400, []string{"target"}},
	})
	if r := admin.call("DELETE", "policies/bindings/"+id+"/", nil, true); r.status != 204 {
		t.Fatalf("DELETE: %d", r.status)
	}
	// A negated binding on the group (bob is not in it) plus nothing else
	// lets everyone log in; binding a failing policy to the flow locks the
	// page at once.
	no := admin.create("policies/dummy/", map[string]any{"name": "no", "result": false})["pk"]
	admin.create("policies/bindings/", map[string]any{"target": login.ID, "policy": no, "order": 5})
	r := admin.call("PATCH", "flows/instances/default-authentication-flow/", map[string]any{"policy_engine_mode": "all"}, true)
	if r.status != 200 {
		t.Fatalf("PATCH engine mode: %d %s", r.status, r.body)
	}
	if ch := e.client().get("default-authentication-flow", nil); ch.component() != "ak-stage-access-denied" {
		t.Errorf("after binding a failing policy in all mode: %v, want access denied", ch.component())
	}
}

func TestAPIFlowsScopeMappings(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	m := admin.create("propertymappings/provider/scope/", map[string]any{"name": "team", "scope_name": "team",
		"expression": "return {\"team\": request.user.attributes.get(\"team\", \"\")}"})
	if m["managed"] != nil || m["meta_model_name"] != "authentik_providers_oauth2.scopemapping" || m["description"] != "" {
		t.Errorf("created mapping: %v", m)
	}
	id := m["pk"].(string)
	if r := admin.call("PATCH", "propertymappings/provider/scope/"+id+"/", map[string]any{"description": "Your team"}, true,
		"If-Match", `"1"`); r.status != 200 || r.json(t)["description"] != "Your team" || r.json(t)["scope_name"] != "team" {
		t.Errorf("PATCH: %d %s", r.status, r.body)
	}
	if r := admin.call("PATCH", "propertymappings/provider/scope/"+id+"/", map[string]any{"description": "x"}, true,
		"If-Match", `"1"`); r.status != 412 {
		t.Errorf("stale ETag: %d, want 412", r.status)
	}
	all := admin.call("GET", "propertymappings/all/?page_size=100", nil, true).results(t)
	managed := slices.ContainsFunc(all, func(m map[string]any) bool { return m["managed"] == "goauthentik.io/providers/oauth2/scope-openid" })
	if len(all) < 2 || !managed {
		t.Errorf("propertymappings/all/ without the built-in openid mapping: %v", all)
	}
	admin.refuses(t, map[string]badInput{
		"bad expression":   {"POST", "propertymappings/provider/scope/", `{"name":"x","scope_name":"x","expression":"return {"}`, 400, []string{"expression"}},
		"spaced scope":     {"POST", "propertymappings/provider/scope/", `{"name":"x","scope_name":"a b","expression":"return {}"}`, 400, []string{"scope_name"}},
		"managed is ours":  {"POST", "propertymappings/provider/scope/", `{"name":"x","scope_name":"x","expression":"return {}","managed":"mine"}`, 400, []string{"managed"}},
		"missing required": {"POST", "propertymappings/provider/scope/", `{"name":"x"}`, 400, []string{"scope_name", "expression"}},
		"duplicate":        {"POST", "propertymappings/provider/scope/", `{"name":"team","scope_name":"x","expression":"return {}"}`, 409, []string{"name"}},
	})
	if r := admin.call("DELETE", "propertymappings/provider/scope/"+id+"/", nil, true); r.status != 204 {
		t.Errorf("DELETE: %d", r.status)
	}
}

// flowResources lists each resource of this area with a valid create body
// and the permission model it is guarded by.
func flowResources(flow, stage any) []struct {
	path, model string
	body        map[string]any
} {
	return []struct {
		path, model string
		body        map[string]any
	}{
		{"flows/instances/", "authentik_flows.flow", map[string]any{"slug": "p", "name": "P", "designation": "recovery"}},
		{"flows/bindings/", "authentik_flows.flowstagebinding", map[string]any{"target": flow, "stage": stage, "order": 99}},
		{"stages/all/", "authentik_flows.stage", nil},
		{"stages/identification/", "authentik_stages_identification.identificationstage", map[string]any{"name": "p1"}},
		{"stages/password/", "authentik_stages_password.passwordstage", map[string]any{"name": "p2"}},
		{"stages/user_login/", "authentik_stages_user_login.userloginstage", map[string]any{"name": "p3"}},
		{"stages/user_logout/", "authentik_stages_user_logout.userlogoutstage", map[string]any{"name": "p4"}},
		{"stages/user_write/", "authentik_stages_user_write.userwritestage", map[string]any{"name": "p5"}},
		{"stages/prompt/stages/", "authentik_stages_prompt.promptstage", map[string]any{"name": "p6"}},
		{"stages/prompt/prompts/", "authentik_stages_prompt.prompt", map[string]any{"name": "p7", "field_key": "k", "label": "K", "type": "text"}},
		{"stages/email/", "authentik_stages_email.emailstage", map[string]any{"name": "p8"}},
		{"stages/invitation/stages/", "authentik_stages_invitation.invitationstage", map[string]any{"name": "p9"}},
		{"stages/invitation/invitations/", "authentik_stages_invitation.invitation", map[string]any{"name": "p10"}},
		{"stages/consent/", "authentik_stages_consent.consentstage", map[string]any{"name": "p11"}},
		{"stages/deny/", "authentik_stages_deny.denystage", map[string]any{"name": "p12"}},
		{"stages/redirect/", "authentik_stages_redirect.redirectstage", map[string]any{"name": "p13", "target_static": "/"}},
		{"stages/dummy/", "authentik_stages_dummy.dummystage", map[string]any{"name": "p14"}},
		{"policies/all/", "authentik_policies.policy", nil},
		{"policies/expression/", "authentik_policies_expression.expressionpolicy", map[string]any{"name": "p15", "expression": "return True"}},
		{"policies/password/", "authentik_policies_password.passwordpolicy", map[string]any{"name": "p16"}},
		{"policies/reputation/", "authentik_policies_reputation.reputationpolicy", map[string]any{"name": "p17"}},
		{"policies/password_expiry/", "authentik_policies_expiry.passwordexpirypolicy", map[string]any{"name": "p18"}},
		{"policies/dummy/", "authentik_policies_dummy.dummypolicy", map[string]any{"name": "p19"}},
		{"policies/bindings/?target=" + fmt.Sprint(flow), "authentik_policies.policybinding", map[string]any{"target": flow, "group": nil, "order": 0}},
		{"propertymappings/all/", "authentik_core.propertymapping", nil},
		{"propertymappings/provider/scope/", "authentik_providers_oauth2.scopemapping", map[string]any{"name": "p20", "scope_name": "p", "expression": "return {}"}},
	}
}

// TestAPIFlowsPermissions: without a permission every resource answers
// 403; a role with view_<model> lists but still cannot create.
func TestAPIFlowsPermissions(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	flow := admin.call("GET", "flows/instances/default-authentication-flow/", nil, true).json(t)["pk"]
	stage := admin.create("stages/dummy/", map[string]any{"name": "perm-stage"})["pk"]
	carol := e.createUser("carol", "Carol-Password-1", store.UserInternal)
	c := e.apiAs(carol)
	resources := flowResources(flow, stage)
	postPath := func(p string) string { path, _, _ := strings.Cut(p, "?"); return path }
	view := func(model string) string { app, name, _ := strings.Cut(model, "."); return app + ".view_" + name }
	for _, r := range resources {
		if got := c.call("GET", r.path, nil, true); got.status != 403 || !strings.Contains(string(got.body), view(r.model)) {
			t.Errorf("GET %s without permission: %d %s, want 403 naming %s", r.path, got.status, got.body, view(r.model))
		}
		if r.body != nil {
			if got := c.call("POST", postPath(r.path), r.body, false); got.status != 403 {
				t.Errorf("POST %s without permission: %d, want 403", r.path, got.status)
			}
		}
	}
	var views []string
	for _, r := range resources {
		views = append(views, view(r.model))
	}
	e.grant(carol, views...)
	for _, r := range resources {
		if got := c.call("GET", r.path, nil, true); got.status != 200 {
			t.Errorf("GET %s with view_: %d %s", r.path, got.status, got.body)
		}
		if r.body != nil {
			if got := c.call("POST", postPath(r.path), r.body, false); got.status != 403 {
				t.Errorf("POST %s with only view_: %d, want 403", r.path, got.status)
			}
		}
	}
	// Change is separate from view: a PATCH still needs change_.
	id := admin.call("GET", "stages/identification/?search=default-authentication-identification", nil, true).results(t)[0]["pk"].(string)
	if r := c.call("PATCH", "stages/identification/"+id+"/", map[string]any{"enrollment_flow": nil}, true); r.status != 403 {
		t.Errorf("PATCH with only view_identificationstage: %d, want 403", r.status)
	}
	e.grant(carol, "authentik_stages_identification.change_identificationstage")
	if r := c.call("PATCH", "stages/identification/"+id+"/", map[string]any{"enrollment_flow": nil}, true); r.status != 200 {
		t.Errorf("PATCH with change_identificationstage: %d %s", r.status, r.body)
	}
}
