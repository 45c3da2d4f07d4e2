package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The flow, stage, policy and property mapping resources of the REST API,
// driven through apiClient: every request meant to be valid and every
// response is checked against the server's own OpenAPI document.

// create POSTs body and fails the test unless the object is created.
func (c *apiClient) create(path string, body map[string]any) map[string]any {
	c.e.t.Helper()
	r := c.call("POST", path, body, true)
	if r.status != 201 {
		c.e.t.Fatalf("POST %s %v: %d %s, want 201", path, body, r.status, r.body)
	}
	return r.json(c.e.t)
}

// results reads a list page.
func (r apiResp) results(t testing.TB) []map[string]any {
	t.Helper()
	var page struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil || r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	return page.Results
}

// badInput is a write the API must refuse with status, naming fields.
type badInput struct {
	method, path string
	body         any
	status       int
	fields       []string
}

func (c *apiClient) refuses(t *testing.T, cases map[string]badInput) {
	t.Helper()
	for name, tc := range cases {
		r := c.call(tc.method, tc.path, tc.body, false)
		if r.status != tc.status {
			t.Errorf("%s: %s %s -> %d %s, want %d", name, tc.method, tc.path, r.status, r.body, tc.status)
			continue
		}
		for _, f := range tc.fields {
			if !r.fieldError(f) {
				t.Errorf("%s: no error for field %s in %s", name, f, r.body)
			}
		}
	}
}

// otherTenant holds one object of each kind in a second tenant: the API
// must treat them as missing.
type otherTenant struct {
	flow, stage, prompt, policy, group, user uuid.UUID
}

func (e *testEnv) otherTenant() otherTenant {
	e.t.Helper()
	ctx := context.Background()
	t := &store.Tenant{Name: "other", Domains: []string{"other.example"}}
	if err := e.app.DB().Tenants().Create(ctx, t); err != nil {
		e.t.Fatal(err)
	}
	sc := e.app.DB().Scope(t.ID)
	f := &store.Flow{Slug: "theirs", Name: "Theirs", Designation: store.DesignationEnrollment}
	st := &store.Object{Name: "their-password", Kind: "password", Config: json.RawMessage(`{}`)}
	pr := &store.Object{Name: "their-prompt", Kind: "text", Config: json.RawMessage(`{"field_key":"x","type":"text"}`)}
	po := &store.Object{Name: "their-policy", Kind: "dummy", Config: json.RawMessage(`{}`)}
	g := &store.Group{Name: "theirs"}
	u := &store.User{Username: "stranger", Name: "S", IsActive: true, Type: store.UserInternal}
	for _, err := range []error{sc.Flows().Create(ctx, f), sc.Stages().Create(ctx, st), sc.Prompts().Create(ctx, pr),
		sc.Policies().Create(ctx, po), sc.Groups().Create(ctx, g), e.app.Core().CreateUser(ctx, sc, u, "")} {
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return otherTenant{flow: f.ID, stage: st.ID, prompt: pr.ID, policy: po.ID, group: g.ID, user: u.ID}
}

func TestAPIFlowsInstances(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))

	r := admin.call("POST", "flows/instances/", map[string]any{"slug": "partner-login", "name": "Partner login",
		"designation": "authentication"}, true)
	if r.status != 201 || r.header.Get("ETag") != `"1"` {
		t.Fatalf("create: %d %s (ETag %q)", r.status, r.body, r.header.Get("ETag"))
	}
	f := r.json(t)
	id := f["pk"].(string)
	for k, want := range map[string]any{"title": "Partner login", "authentication": "none", "denied_action": "message_continue",
		"layout": "stacked", "policy_engine_mode": "any", "background": ""} {
		if f[k] != want {
			t.Errorf("created flow %s = %v, want Authentik's default %v", k, f[k], want)
		}
	}
	// Authentik addresses flows by slug; the UUID works as well.
	for _, key := range []string{id, "partner-login"} {
		if r := admin.call("GET", "flows/instances/"+key+"/", nil, true); r.status != 200 || r.json(t)["pk"] != id {
			t.Errorf("GET flows/instances/%s/: %d %s", key, r.status, r.body)
		}
	}
	if r := admin.call("PATCH", "flows/instances/partner-login/", map[string]any{"title": "Partners", "layout": "sidebar_left"},
		true, "If-Match", `"1"`); r.status != 200 || r.json(t)["title"] != "Partners" || r.json(t)["name"] != "Partner login" {
		t.Fatalf("PATCH by slug: %d %s", r.status, r.body)
	}
	if r := admin.call("PATCH", "flows/instances/"+id+"/", map[string]any{"title": "Lost update"}, true, "If-Match", `"1"`); r.status != 412 {
		t.Errorf("PATCH with a stale ETag: %d %s, want 412", r.status, r.body)
	}
	r = admin.call("GET", "flows/instances/?designation=authentication&search=partner&ordering=-slug", nil, true)
	if res := r.results(t); len(res) != 1 || res[0]["slug"] != "partner-login" {
		t.Errorf("filtered list: %s", r.body)
	}
	if res := admin.call("GET", "flows/instances/?designation=enrollment", nil, true).results(t); len(res) == 0 ||
		slices.ContainsFunc(res, func(f map[string]any) bool { return f["designation"] != "enrollment" }) {
		t.Errorf("designation filter: %v", res)
	}

	admin.refuses(t, map[string]badInput{
		"unknown field":    {"POST", "flows/instances/", `{"slug":"x","name":"X","designation":"enrollment","compatibility_mode":true}`, 400, []string{"compatibility_mode"}},
		"wrong types":      {"POST", "flows/instances/", `{"slug":5,"name":"X","designation":"enrollment","background":[]}`, 400, []string{"slug", "background"}},
		"missing required": {"POST", "flows/instances/", `{"title":"X"}`, 400, []string{"slug", "name", "designation"}},
		"bad values":       {"POST", "flows/instances/", `{"slug":"Bad Slug","name":"X","designation":"login","layout":"fancy"}`, 400, []string{"slug", "designation", "layout"}},
		"duplicate slug":   {"POST", "flows/instances/", `{"slug":"partner-login","name":"Again","designation":"authentication"}`, 409, []string{"slug"}},
		"null name":        {"PATCH", "flows/instances/" + id + "/", `{"name":null}`, 400, []string{"name"}},
		"unknown slug":     {"PATCH", "flows/instances/no-such-flow/", `{"name":"X"}`, 404, nil},
	})

	if r := admin.call("DELETE", "flows/instances/partner-login/", nil, true); r.status != 204 {
		t.Fatalf("DELETE by slug: %d %s", r.status, r.body)
	}
	if r := admin.call("GET", "flows/instances/"+id+"/", nil, true); r.status != 404 {
		t.Errorf("read after delete: %d", r.status)
	}
	for _, action := range []string{"model_created", "model_updated", "model_deleted"} {
		if !slices.ContainsFunc(e.events(action), func(ev *store.Event) bool {
			m, _ := ev.Context["model"].(map[string]any)
			return m["app"] == "authentik_flows" && m["model_name"] == "flow" && m["pk"] == id
		}) {
			t.Errorf("no %s event for the flow", action)
		}
	}
}

func TestAPIFlowsStageBindings(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	other := e.otherTenant()
	flowID := admin.create("flows/instances/", map[string]any{"slug": "two-step", "name": "Two step", "designation": "authentication"})["pk"]
	first := admin.create("stages/dummy/", map[string]any{"name": "first"})["pk"]
	second := admin.create("stages/dummy/", map[string]any{"name": "second"})["pk"]

	b := admin.create("flows/bindings/", map[string]any{"target": flowID, "stage": second, "order": 20})
	for k, want := range map[string]any{"re_evaluate_policies": true, "evaluate_on_plan": false, "policy_engine_mode": "any",
		"invalid_response_action": "retry", "order": 20.0} {
		if b[k] != want {
			t.Errorf("binding %s = %v, want %v", k, b[k], want)
		}
	}
	admin.create("flows/bindings/", map[string]any{"target": flowID, "stage": first, "order": 10})
	orders := func(query string) []any {
		var out []any
		for _, x := range admin.call("GET", "flows/bindings/"+query, nil, true).results(t) {
			out = append(out, x["order"])
		}
		return out
	}
	if got := orders(fmt.Sprintf("?target=%s", flowID)); !slices.Equal(got, []any{10.0, 20.0}) {
		t.Errorf("bindings of the flow by order: %v", got)
	}
	if got := orders(fmt.Sprintf("?target=%s&ordering=-order", flowID)); !slices.Equal(got, []any{20.0, 10.0}) {
		t.Errorf("bindings by -order: %v", got)
	}
	if got := orders("?page_size=100"); len(got) < 5 {
		t.Errorf("every flow's bindings: %v, want the default flows' too", got)
	}

	id := b["pk"].(string)
	if r := admin.call("PATCH", "flows/bindings/"+id+"/", map[string]any{"order": 30, "invalid_response_action": "restart"},
		true, "If-Match", `"1"`); r.status != 200 || r.json(t)["order"] != 30.0 || r.json(t)["stage"] != second {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	if r := admin.call("PATCH", "flows/bindings/"+id+"/", map[string]any{"order": 40}, true, "If-Match", `"1"`); r.status != 412 {
		t.Errorf("PATCH with a stale ETag: %d %s, want 412", r.status, r.body)
	}
	admin.refuses(t, map[string]badInput{
		"missing required":     {"POST", "flows/bindings/", `{"evaluate_on_plan":true}`, 400, []string{"target", "stage", "order"}},
		"wrong types":          {"POST", "flows/bindings/", `{"target":"flow","stage":1,"order":"ten"}`, 400, []string{"target", "stage", "order"}},
		"unknown field":        {"POST", "flows/bindings/", fmt.Sprintf(`{"target":%q,"stage":%q,"order":1,"stage_obj":{}}`, flowID, first), 400, []string{"stage_obj"}},
		"duplicate":            {"POST", "flows/bindings/", fmt.Sprintf(`{"target":%q,"stage":%q,"order":10}`, flowID, first), 409, []string{"order"}},
		"bad enum":             {"POST", "flows/bindings/", fmt.Sprintf(`{"target":%q,"stage":%q,"order":1,"policy_engine_mode":"most"}`, flowID, first), 400, []string{"policy_engine_mode"}},
		"another tenant flow":  {"POST", "flows/bindings/", fmt.Sprintf(`{"target":%q,"stage":%q,"order":1}`, other.flow, first), 400, []string{"target"}},
		"another tenant stage": {"POST", "flows/bindings/", fmt.Sprintf(`{"target":%q,"stage":%q,"order":1}`, flowID, other.stage), 400, []string{"stage"}},
		"moved to their stage": {"PATCH", "flows/bindings/" + id + "/", fmt.Sprintf(`{"stage":%q}`, other.stage), 400, []string{"stage"}},
		"bad target filter":    {"GET", "flows/bindings/?target=nope", nil, 400, []string{"target"}},
	})
	if r := admin.call("DELETE", "flows/bindings/"+id+"/", nil, true); r.status != 204 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if got := orders(fmt.Sprintf("?target=%s", flowID)); !slices.Equal(got, []any{10.0}) {
		t.Errorf("after delete: %v", got)
	}
}

// stageKinds is one create and one change per stage kind, and a setting
// the kind shows by default although the create did not give it.
var stageKinds = []struct {
	path, model   string
	create, patch map[string]any
	defaultKey    string
	defaultValue  any
	createdKey    string
	createdValue  any
	patchKey      string
	patchValue    any
}{
	{"stages/identification/", "authentik_stages_identification.identificationstage", map[string]any{"user_fields": []string{"username"}},
		map[string]any{"show_matched_user": false}, "case_insensitive_matching", true, "user_fields", []any{"username"}, "show_matched_user", false},
	{"stages/password/", "authentik_stages_password.passwordstage", map[string]any{"allow_show_password": true},
		map[string]any{"failed_attempts_before_cancel": 3}, "failed_attempts_before_cancel", 5.0, "allow_show_password", true, "failed_attempts_before_cancel", 3.0},
	{"stages/user_login/", "authentik_stages_user_login.userloginstage", map[string]any{"session_duration": "hours=8"},
		map[string]any{"terminate_other_sessions": true}, "remember_me_offset", "seconds=0", "session_duration", "hours=8", "terminate_other_sessions", true},
	{"stages/user_logout/", "authentik_stages_user_logout.userlogoutstage", map[string]any{}, map[string]any{"name": "renamed-logout"},
		"", nil, "", nil, "name", "renamed-logout"},
	{"stages/user_write/", "authentik_stages_user_write.userwritestage", map[string]any{"user_creation_mode": "always_create"},
		map[string]any{"user_type": "internal"}, "user_path_template", "", "user_creation_mode", "always_create", "user_type", "internal"},
	{"stages/email/", "authentik_stages_email.emailstage", map[string]any{"template": "email/account_confirmation.html"},
		map[string]any{"token_expiry": "hours=2"}, "recovery_max_attempts", 5.0, "template", "email/account_confirmation.html", "token_expiry", "hours=2"},
	{"stages/invitation/stages/", "authentik_stages_invitation.invitationstage", map[string]any{},
		map[string]any{"continue_flow_without_invitation": true}, "continue_flow_without_invitation", false, "", nil, "continue_flow_without_invitation", true},
	{"stages/consent/", "authentik_stages_consent.consentstage", map[string]any{"mode": "permanent"},
		map[string]any{"mode": "expiring", "consent_expire_in": "days=7"}, "consent_expire_in", "weeks=4", "mode", "permanent", "consent_expire_in", "days=7"},
	{"stages/deny/", "authentik_stages_deny.denystage", map[string]any{"deny_message": "Not today."},
		map[string]any{"deny_message": "Never."}, "", nil, "deny_message", "Not today.", "deny_message", "Never."},
	{"stages/redirect/", "authentik_stages_redirect.redirectstage", map[string]any{"target_static": "https://example.com/"},
		map[string]any{"keep_context": false}, "mode", "static", "target_static", "https://example.com/", "keep_context", false},
	{"stages/dummy/", "authentik_stages_dummy.dummystage", map[string]any{}, map[string]any{"throw_error": true},
		"throw_error", false, "", nil, "throw_error", true},
}

func TestAPIFlowsStageKinds(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	for i, k := range stageKinds {
		name := fmt.Sprintf("kind-%d", i)
		body := map[string]any{"name": name}
		for key, v := range k.create {
			body[key] = v
		}
		s := admin.create(k.path, body)
		id := s["pk"].(string)
		if s["meta_model_name"] != k.model || !strings.HasPrefix(s["component"].(string), "ak-stage-") {
			t.Errorf("%s: identity %v, want model %s", k.path, s, k.model)
		}
		if k.defaultKey != "" && !sameJSONValue(s[k.defaultKey], k.defaultValue) {
			t.Errorf("%s: %s = %v, want the default %v", k.path, k.defaultKey, s[k.defaultKey], k.defaultValue)
		}
		if k.createdKey != "" && !sameJSONValue(s[k.createdKey], k.createdValue) {
			t.Errorf("%s: %s = %v after create, want %v", k.path, k.createdKey, s[k.createdKey], k.createdValue)
		}
		r := admin.call("PATCH", k.path+id+"/", k.patch, true, "If-Match", `"1"`)
		if r.status != 200 || !sameJSONValue(r.json(t)[k.patchKey], k.patchValue) {
			t.Errorf("%s: PATCH %v: %d %s", k.path, k.patch, r.status, r.body)
		}
		if _, patched := k.patch[k.createdKey]; k.createdKey != "" && !patched && !sameJSONValue(r.json(t)[k.createdKey], k.createdValue) {
			t.Errorf("%s: PATCH lost %s: %s", k.path, k.createdKey, r.body)
		}
		if r := admin.call("PATCH", k.path+id+"/", k.patch, true, "If-Match", `"1"`); r.status != 412 {
			t.Errorf("%s: PATCH with a stale ETag: %d, want 412", k.path, r.status)
		}
		all := admin.call("GET", "stages/all/?search="+r.json(t)["name"].(string), nil, true).results(t)
		if len(all) != 1 || all[0]["pk"] != id || all[0]["meta_model_name"] != k.model {
			t.Errorf("stages/all/ for %s: %v", k.path, all)
		}
		if r := admin.call("DELETE", k.path+id+"/", nil, true); r.status != 204 {
			t.Errorf("%s: DELETE: %d %s", k.path, r.status, r.body)
		}
		if r := admin.call("GET", k.path+id+"/", nil, true); r.status != 404 {
			t.Errorf("%s: GET after DELETE: %d", k.path, r.status)
		}
	}
	// A resource serves its own kind only, as Authentik's tables do.
	pw := admin.create("stages/password/", map[string]any{"name": "just-a-password"})["pk"].(string)
	for _, m := range []string{"GET", "DELETE"} {
		if r := admin.call(m, "stages/identification/"+pw+"/", nil, true); r.status != 404 {
			t.Errorf("%s a password stage as an identification stage: %d", m, r.status)
		}
	}
	if r := admin.call("PATCH", "stages/identification/"+pw+"/", map[string]any{"show_matched_user": true}, true); r.status != 404 {
		t.Errorf("PATCH a password stage as an identification stage: %d", r.status)
	}
}

// sameJSONValue compares a decoded JSON value with a Go one.
func sameJSONValue(got, want any) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return string(a) == string(b)
}

func TestAPIFlowsPromptsAndReferences(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	other := e.otherTenant()

	p := admin.create("stages/prompt/prompts/", map[string]any{"name": "nickname-field", "field_key": "attributes.nickname",
		"label": "Nickname", "type": "text", "order": 5})
	if p["required"] != false || p["placeholder"] != "" || len(p["choices"].([]any)) != 0 {
		t.Errorf("prompt: %v", p)
	}
	if r := admin.call("PATCH", "stages/prompt/prompts/"+p["pk"].(string)+"/", map[string]any{"type": "email", "required": true},
		true); r.status != 200 || r.json(t)["type"] != "email" || r.json(t)["field_key"] != "attributes.nickname" {
		t.Errorf("PATCH prompt type: %d %s", r.status, r.body)
	}
	pol := admin.create("policies/dummy/", map[string]any{"name": "always", "result": true})["pk"]
	grp := admin.create("core/groups/", map[string]any{"name": "newcomers"})["pk"]
	ps := admin.create("stages/prompt/stages/", map[string]any{"name": "ask-nickname", "fields": []any{p["pk"]},
		"validation_policies": []any{pol}})
	if !sameJSONValue(ps["fields"], []any{p["pk"]}) || !sameJSONValue(ps["validation_policies"], []any{pol}) {
		t.Errorf("prompt stage: %v", ps)
	}
	uw := admin.create("stages/user_write/", map[string]any{"name": "write", "create_users_group": grp})
	if uw["create_users_group"] != grp {
		t.Errorf("user write stage group: %v", uw)
	}
	pwID := admin.create("stages/password/", map[string]any{"name": "pw"})["pk"]
	id := admin.create("stages/identification/", map[string]any{"name": "who", "password_stage": pwID})
	if id["password_stage"] != pwID || id["enrollment_flow"] != nil {
		t.Errorf("identification references: %v", id)
	}

	// Every reference must name an object of this tenant, of the right
	// kind; settings the kind's code refuses are field errors.
	before := stageCount(e)
	admin.refuses(t, map[string]badInput{
		"their flow":           {"POST", "stages/identification/", fmt.Sprintf(`{"name":"x","enrollment_flow":%q}`, other.flow), 400, []string{"enrollment_flow"}},
		"no such flow":         {"POST", "stages/redirect/", fmt.Sprintf(`{"name":"x","mode":"flow","target_flow":%q}`, uuid.New()), 400, []string{"target_flow"}},
		"not a password stage": {"POST", "stages/identification/", fmt.Sprintf(`{"name":"x","password_stage":%q}`, ps["pk"]), 400, []string{"password_stage"}},
		"their password stage": {"POST", "stages/identification/", fmt.Sprintf(`{"name":"x","password_stage":%q}`, other.stage), 400, []string{"password_stage"}},
		"their prompt":         {"POST", "stages/prompt/stages/", fmt.Sprintf(`{"name":"x","fields":[%q]}`, other.prompt), 400, []string{"fields"}},
		"their policy":         {"PATCH", "stages/prompt/stages/" + ps["pk"].(string) + "/", fmt.Sprintf(`{"validation_policies":[%q]}`, other.policy), 400, []string{"validation_policies"}},
		"their group":          {"POST", "stages/user_write/", fmt.Sprintf(`{"name":"x","create_users_group":%q}`, other.group), 400, []string{"create_users_group"}},
		"bad user field":       {"POST", "stages/identification/", `{"name":"x","user_fields":["phone"]}`, 400, []string{"user_fields"}},
		"no user fields":       {"PATCH", "stages/identification/" + id["pk"].(string) + "/", `{"user_fields":[]}`, 400, []string{"user_fields"}},
		"bad template":         {"POST", "stages/email/", `{"name":"x","template":"../../etc/passwd"}`, 400, []string{"template"}},
		"bad duration":         {"POST", "stages/user_login/", `{"name":"x","session_duration":"forever"}`, 400, []string{"session_duration"}},
		"redirect to nowhere":  {"POST", "stages/redirect/", `{"name":"x","mode":"flow"}`, 400, []string{"target_flow"}},
		"javascript redirect":  {"POST", "stages/redirect/", `{"name":"x","target_static":"javascript:alert(1)"}`, 400, []string{"target_static"}},
		"unsupported setting":  {"POST", "stages/identification/", `{"name":"x","captcha_stage":null}`, 400, []string{"captcha_stage"}},
		"read-only field":      {"POST", "stages/deny/", `{"name":"x","component":"ak-stage-deny-form"}`, 400, []string{"component"}},
		"wrong types":          {"POST", "stages/password/", `{"name":7,"backends":"all","failed_attempts_before_cancel":"3"}`, 400, []string{"name", "backends", "failed_attempts_before_cancel"}},
		"missing name":         {"POST", "stages/deny/", `{"deny_message":"x"}`, 400, []string{"name"}},
		"duplicate name":       {"POST", "stages/deny/", `{"name":"who"}`, 409, []string{"name"}},
		"bad prompt type":      {"POST", "stages/prompt/prompts/", `{"name":"x","field_key":"x","label":"X","type":"file"}`, 400, []string{"type"}},
		"prompt key":           {"POST", "stages/prompt/prompts/", `{"name":"x","field_key":"a b","label":"X","type":"text"}`, 400, []string{"field_key"}},
		"prompt missing":       {"POST", "stages/prompt/prompts/", `{"name":"x"}`, 400, []string{"field_key", "label", "type"}},
		"their stage by ID":    {"GET", "stages/password/" + other.stage.String() + "/", nil, 404, nil},
	})
	if n := stageCount(e); n != before {
		t.Errorf("%d stages after the refused writes, want the %d before", n, before)
	}
}

func stageCount(e *testEnv) int {
	e.t.Helper()
	_, n, err := e.sc.Stages().List(context.Background(), store.ObjectQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestAPIFlowsSignUpLink is the admin's "enable sign-up" step: one PATCH of
// the identification stage's enrollment_flow, and the next login page
// offers "Sign up" (the API drops the cached flow at once).
func TestAPIFlowsSignUpLink(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	ids := admin.call("GET", "stages/identification/?search=default-authentication-identification", nil, true).results(t)
	if len(ids) != 1 {
		t.Fatalf("the default identification stage: %v", ids)
	}
	stage := ids[0]
	enroll := admin.call("GET", "flows/instances/default-enrollment-flow/", nil, true).json(t)

	// The login page is planned (and its flow cached) before the change.
	if ch := e.client().get("default-authentication-flow", nil); ch["enroll_url"] != nil {
		t.Fatalf("Sign up before it is enabled: %v", ch["enroll_url"])
	}
	r := admin.call("PATCH", "stages/identification/"+stage["pk"].(string)+"/", map[string]any{"enrollment_flow": enroll["pk"]}, true)
	if r.status != 200 || r.json(t)["enrollment_flow"] != enroll["pk"] || !sameJSONValue(r.json(t)["user_fields"], stage["user_fields"]) {
		t.Fatalf("PATCH enrollment_flow: %d %s", r.status, r.body)
	}
	if ch := e.client().get("default-authentication-flow", nil); ch["enroll_url"] != "/if/flow/default-enrollment-flow/" {
		t.Fatalf("after the PATCH: enroll_url %v, want the enrollment flow", ch["enroll_url"])
	}
	if page := e.client().page("/if/flow/default-authentication-flow/"); !strings.Contains(page, "Sign up") {
		t.Errorf("the login page does not offer Sign up")
	}
	// Linking the flow also opens it to the public.
	if ch := e.client().get("default-enrollment-flow", nil); ch.component() != "ak-stage-prompt" {
		t.Errorf("the enrollment flow after linking it: %v", ch)
	}
	if ev := e.events("model_updated"); !slices.ContainsFunc(ev, func(ev *store.Event) bool {
		ch, _ := ev.Context["changes"].(map[string]any)
		return ch["enrollment_flow"] == enroll["pk"]
	}) {
		t.Errorf("no model_updated event with the new enrollment_flow")
	}
	// And null switches sign-up off again.
	if r := admin.call("PATCH", "stages/identification/"+stage["pk"].(string)+"/", map[string]any{"enrollment_flow": nil}, true); r.status != 200 {
		t.Fatalf("PATCH enrollment_flow null: %d %s", r.status, r.body)
	}
	if ch := e.client().get("default-authentication-flow", nil); ch["enroll_url"] != nil {
		t.Errorf("Sign up after unlinking: %v", ch["enroll_url"])
	}
}

// page GETs an HTML page.
func (c *client) page(path string) string {
	c.e.t.Helper()
	resp, err := c.http.Get(c.e.URL + path)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestAPIFlowsInvitations(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	enroll := admin.call("GET", "flows/instances/default-enrollment-flow/", nil, true).json(t)["pk"]
	inv := admin.create("stages/invitation/invitations/", map[string]any{"name": "for-dana", "flow": enroll,
		"fixed_data": map[string]any{"email": "dana@example.com"}})
	if inv["flow"] != enroll || inv["single_use"] != true || inv["created_by"] == nil || inv["expires"] != nil {
		t.Errorf("invitation: %v", inv)
	}
	if got := admin.call("GET", "stages/invitation/invitations/", nil, true).results(t); len(got) != 1 {
		t.Errorf("list: %v", got)
	}
	login := admin.call("GET", "flows/instances/default-authentication-flow/", nil, true).json(t)["pk"]
	admin.refuses(t, map[string]badInput{
		"not enrollment": {"POST", "stages/invitation/invitations/", fmt.Sprintf(`{"name":"x","flow":%q}`, login), 400, []string{"flow"}},
		"bad name":       {"POST", "stages/invitation/invitations/", `{"name":"Not A Slug"}`, 400, []string{"name"}},
		"duplicate":      {"POST", "stages/invitation/invitations/", `{"name":"for-dana"}`, 409, []string{"name"}},
	})
	if r := admin.call("DELETE", "stages/invitation/invitations/"+inv["pk"].(string)+"/", nil, true); r.status != 204 {
		t.Errorf("DELETE: %d", r.status)
	}
}
