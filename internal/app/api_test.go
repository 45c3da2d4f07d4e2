package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// apiClient calls the REST API and validates every response (and every
// request meant to be valid) against the server's own OpenAPI document
// with kin-openapi, so the document cannot drift from the code.
type apiClient struct {
	e      *testEnv
	token  string
	http   *http.Client
	csrf   string
	router routers.Router
}

type apiResp struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %s", r.status, r.body)
	}
	return m
}

// fieldError reports whether a problem response names field.
func (r apiResp) fieldError(field string) bool {
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	json.Unmarshal(r.body, &p)
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

func (e *testEnv) openAPIRouter() routers.Router {
	e.t.Helper()
	resp, err := http.Get(e.URL + "/api/v3/schema/")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		e.t.Fatalf("the OpenAPI document does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		e.t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		e.t.Fatal(err)
	}
	return router
}

// apiAs makes a client authenticated by a new API token of u.
func (e *testEnv) apiAs(u *store.User) *apiClient {
	e.t.Helper()
	secret, err := e.app.Core().CreateToken(context.Background(), e.sc, &store.Token{UserID: u.ID, Intent: store.IntentAPI}, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return &apiClient{e: e, token: secret, http: http.DefaultClient, router: e.openAPIRouter()}
}

// superuser creates a user in a superuser group.
func (e *testEnv) superuser(name string) *store.User {
	e.t.Helper()
	u := e.createUser(name, "Admin-Password-1", store.UserInternal)
	g := &store.Group{Name: "admins-" + name, IsSuperuser: true}
	ctx := context.Background()
	if err := e.sc.Groups().Create(ctx, g); err != nil {
		e.t.Fatal(err)
	}
	if err := e.sc.Groups().AddMember(ctx, g.ID, u.ID); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// call sends a request; valid says whether the request itself must
// conform to the document (hostile tests send malformed ones on purpose).
// The response is always validated.
func (c *apiClient) call(method, path string, body any, valid bool, hdr ...string) apiResp {
	c.e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	req, _ := http.NewRequest(method, c.e.URL+"/api/v3/"+path, bytes.NewReader(raw))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRFToken", c.csrf)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := apiResp{resp.StatusCode, resp.Header, out}
	c.validate(req, raw, r, valid)
	return r
}

func (c *apiClient) validate(req *http.Request, raw []byte, r apiResp, validRequest bool) {
	c.e.t.Helper()
	ctx := context.Background()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if validRequest {
			c.e.t.Errorf("%s %s is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		}
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if validRequest {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			c.e.t.Errorf("%s %s: request does not match the document: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.status, Header: r.header,
		Body: io.NopCloser(bytes.NewReader(r.body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		c.e.t.Errorf("%s %s -> %d: response does not match the document: %v\n%s", req.Method, req.URL.Path, r.status, err, r.body)
	}
}

func TestAPIUsersCRUD(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))

	r := admin.call("POST", "core/users/", map[string]any{"username": "bob", "name": "Bob", "email": "bob@example.com",
		"attributes": map[string]any{"team": "blue"}}, true)
	if r.status != 201 || r.header.Get("ETag") != `"1"` {
		t.Fatalf("create: %d %s (ETag %q)", r.status, r.body, r.header.Get("ETag"))
	}
	bob := r.json(t)
	id := bob["pk"].(string)
	if bob["type"] != "internal" || bob["is_active"] != true || bob["uid"] == "" {
		t.Errorf("created user: %v", bob)
	}
	if r := admin.call("GET", "core/users/"+id+"/", nil, true); r.status != 200 || r.json(t)["username"] != "bob" {
		t.Fatalf("read: %d %s", r.status, r.body)
	}
	// PATCH with the current ETag works; the old ETag is then refused.
	if r := admin.call("PATCH", "core/users/"+id+"/", map[string]any{"name": "Robert"}, true, "If-Match", `"1"`); r.status != 200 || r.json(t)["name"] != "Robert" || r.json(t)["email"] != "bob@example.com" {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if r := admin.call("PATCH", "core/users/"+id+"/", map[string]any{"name": "Lost update"}, true, "If-Match", `"1"`); r.status != 412 {
		t.Fatalf("stale If-Match: %d %s, want 412", r.status, r.body)
	}
	// Hostile input: every problem named, nothing stored.
	for name, tc := range map[string]struct {
		method, body string
		status       int
		fields       []string
	}{
		"unknown field":     {"POST", `{"username":"x","name":"X","is_admin":true}`, 400, []string{"is_admin"}},
		"wrong types":       {"POST", `{"username":5,"name":"X","is_active":"yes"}`, 400, []string{"username", "is_active"}},
		"missing required":  {"POST", `{"email":"x@example.com"}`, 400, []string{"username", "name"}},
		"duplicate":         {"POST", `{"username":"BOB","name":"Other"}`, 409, []string{"username"}},
		"bad type value":    {"POST", `{"username":"y","name":"Y","type":"god"}`, 400, []string{"type"}},
		"not an object":     {"POST", `[1,2]`, 400, nil},
		"malformed":         {"POST", `{"username":`, 400, nil},
		"null required":     {"PUT", `{"username":null,"name":"X"}`, 400, []string{"username"}},
		"injection in name": {"POST", `{"username":"a'; DROP TABLE users;--","name":"X"}`, 400, []string{"username"}},
	} {
		path := "core/users/"
		if tc.method == "PUT" {
			path += id + "/"
		}
		r := admin.call(tc.method, path, tc.body, false)
		if r.status != tc.status {
			t.Errorf("%s: status %d %s, want %d", name, r.status, r.body, tc.status)
		}
		for _, f := range tc.fields {
			if !r.fieldError(f) {
				t.Errorf("%s: no error for field %s in %s", name, f, r.body)
			}
		}
	}
	if r := admin.call("POST", "core/users/", map[string]any{"username": "z"}, false, "Content-Type", "text/plain"); r.status != 415 {
		t.Errorf("text/plain body: %d, want 415", r.status)
	}
	if _, n, _ := e.sc.Users().List(context.Background(), store.UserQuery{}); n != 3 {
		t.Errorf("%d users after the refused writes, want akadmin, root and bob", n)
	}

	// Lists: paging, search, filters, ordering; unknown parameters refused.
	for i := range 3 {
		admin.call("POST", "core/users/", map[string]any{"username": "page" + string(rune('a'+i)), "name": "P"}, true)
	}
	r = admin.call("GET", "core/users/?search=page&page_size=2&ordering=-username", nil, true)
	list := r.json(t)
	pg := list["pagination"].(map[string]any)
	res := list["results"].([]any)
	if pg["count"] != 3.0 || pg["total_pages"] != 2.0 || pg["next"] != 2.0 || len(res) != 2 || res[0].(map[string]any)["username"] != "pagec" {
		t.Errorf("search page: %s", r.body)
	}
	for _, bad := range []string{"core/users/?page_size=1000", "core/users/?ordering=password", "core/users/?is_active=maybe", "core/users/?nope=1"} {
		if r := admin.call("GET", bad, nil, false); r.status != 400 {
			t.Errorf("GET %s: %d, want 400", bad, r.status)
		}
	}

	if r := admin.call("DELETE", "core/users/"+id+"/", nil, true); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := admin.call("GET", "core/users/"+id+"/", nil, true); r.status != 404 {
		t.Errorf("read after delete: %d", r.status)
	}
	for _, action := range []string{"model_created", "model_updated", "model_deleted"} {
		if len(e.events(action)) == 0 {
			t.Errorf("no %s event", action)
		}
	}
	for _, ev := range e.events("model_updated") {
		if ch, _ := ev.Context["changes"].(map[string]any); ch["name"] != "Robert" {
			t.Errorf("model_updated context: %v, want the changed name", ev.Context)
		}
	}
}

func TestAPIAuthAndPermissions(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	plain := e.createUser("carol", "Carol-Password-1", store.UserInternal)
	carol := e.apiAs(plain)

	if r := (&apiClient{e: e, http: http.DefaultClient, router: admin.router}).call("GET", "core/users/", nil, true); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials: %d, want 401 with WWW-Authenticate", r.status)
	}
	if r := (&apiClient{e: e, token: "not-a-token", http: http.DefaultClient, router: admin.router}).call("GET", "core/users/", nil, true); r.status != 401 {
		t.Errorf("bad token: %d, want 401", r.status)
	}
	for _, c := range []struct{ method, path string }{{"GET", "core/users/"}, {"POST", "core/users/"}, {"GET", "core/groups/"}} {
		var body any
		if c.method == "POST" {
			body = map[string]any{"username": "x", "name": "X"}
		}
		if r := carol.call(c.method, c.path, body, true); r.status != 403 {
			t.Errorf("%s %s without permission: %d, want 403", c.method, c.path, r.status)
		}
	}
	// Everyone may read themselves.
	if r := carol.call("GET", "core/users/me/", nil, true); r.status != 200 || r.json(t)["user"].(map[string]any)["username"] != "carol" {
		t.Errorf("me: %d %s", r.status, r.body)
	}
	// A role with view_user through a group: list allowed, create still not.
	ctx := context.Background()
	g := &store.Group{Name: "helpdesk"}
	e.sc.Groups().Create(ctx, g)
	e.sc.Groups().AddMember(ctx, g.ID, plain.ID)
	role := &store.Role{Name: "viewer"}
	e.sc.Roles().Create(ctx, role)
	e.sc.Roles().SetPermissions(ctx, role.ID, []string{"authentik_core.view_user"})
	e.sc.Roles().AssignToGroup(ctx, role.ID, g.ID)
	if r := carol.call("GET", "core/users/", nil, true); r.status != 200 {
		t.Errorf("with view_user: %d", r.status)
	}
	if r := carol.call("POST", "core/users/", map[string]any{"username": "x", "name": "X"}, true); r.status != 403 {
		t.Errorf("create with only view_user: %d", r.status)
	}
	// change_group does not let a non-superuser make a superuser group.
	e.sc.Roles().SetPermissions(ctx, role.ID, []string{"authentik_core.add_group", "authentik_core.change_group"})
	if r := carol.call("POST", "core/groups/", map[string]any{"name": "escalate", "is_superuser": true}, true); r.status != 403 {
		t.Errorf("non-superuser creating a superuser group: %d %s", r.status, r.body)
	}

	// Session authentication needs the CSRF header on writes.
	b := e.client()
	b.login("root", "Admin-Password-1")
	sess := &apiClient{e: e, http: b.http, router: admin.router}
	me := sess.call("GET", "core/users/me/", nil, true)
	if me.status != 200 {
		t.Fatalf("session me: %d %s", me.status, me.body)
	}
	if r := sess.call("POST", "core/groups/", map[string]any{"name": "from-session"}, true); r.status != 403 {
		t.Errorf("session POST without X-CSRFToken: %d, want 403", r.status)
	}
	sess.csrf = me.json(t)["csrf_token"].(string)
	if r := sess.call("POST", "core/groups/", map[string]any{"name": "from-session"}, true); r.status != 201 {
		t.Errorf("session POST with X-CSRFToken: %d %s", r.status, r.body)
	}

	// Another tenant's objects do not exist here.
	other := &store.Tenant{Name: "other", Domains: []string{"other.example"}}
	if err := e.app.DB().Tenants().Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	stranger := &store.User{Username: "stranger", Name: "S", IsActive: true, Type: store.UserInternal}
	e.app.Core().CreateUser(ctx, e.app.DB().Scope(other.ID), stranger, "")
	for _, m := range []string{"GET", "DELETE"} {
		if r := admin.call(m, "core/users/"+stranger.ID.String()+"/", nil, true); r.status != 404 {
			t.Errorf("%s another tenant's user: %d, want 404", m, r.status)
		}
	}
	if r := admin.call("PATCH", "core/users/"+stranger.ID.String()+"/", map[string]any{"name": "pwned"}, true); r.status != 404 {
		t.Errorf("PATCH another tenant's user: %d, want 404", r.status)
	}
	if r := admin.call("POST", "core/groups/"+uuid.NewString()+"/add_user/", map[string]any{"pk": stranger.ID}, true); r.status != 404 {
		t.Errorf("add_user to a missing group: %d", r.status)
	}
	if r := admin.call("GET", "core/nothing/", nil, false); r.status != 404 || !strings.Contains(r.header.Get("Content-Type"), "problem+json") {
		t.Errorf("unknown endpoint: %d %s", r.status, r.header.Get("Content-Type"))
	}
}

func TestAPIGroupsAndPasswords(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	u := e.createUser("dave", "Dave-Password-1", store.UserInternal)
	r := admin.call("POST", "core/groups/", map[string]any{"name": "staff"}, true)
	gid := r.json(t)["pk"].(string)
	if r := admin.call("POST", "core/groups/"+gid+"/add_user/", map[string]any{"pk": u.ID}, true); r.status != 204 {
		t.Fatalf("add_user: %d %s", r.status, r.body)
	}
	r = admin.call("GET", "core/users/?groups_by_pk="+gid, nil, true)
	if res := r.json(t)["results"].([]any); len(res) != 1 {
		t.Errorf("members of staff: %s", r.body)
	}
	child := admin.call("POST", "core/groups/", map[string]any{"name": "sub", "parent": gid}, true).json(t)
	if r := admin.call("PATCH", "core/groups/"+gid+"/", map[string]any{"parent": child["pk"]}, true); r.status != 400 {
		t.Errorf("a parent cycle: %d %s, want 400", r.status, r.body)
	}
	if r := admin.call("POST", "core/users/"+u.ID.String()+"/set_password/", map[string]any{"password": "New-Password-99"}, true); r.status != 204 {
		t.Fatalf("set_password: %d %s", r.status, r.body)
	}
	e.client().login("dave", "New-Password-99")
	for _, ev := range e.events("password_set") {
		b, _ := json.Marshal(ev.Context)
		if strings.Contains(string(b), "New-Password-99") {
			t.Error("the new password is in an event")
		}
	}
}

func TestAPIApplications(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	_, _ = e.oidcApp("existing", nil)
	app, _ := e.sc.Applications().GetBySlug(context.Background(), "existing")
	r := admin.call("POST", "core/applications/", map[string]any{"name": "Wiki", "slug": "wiki",
		"meta_launch_url": "https://wiki.example.com/", "provider": app.ProviderID.UUID}, true)
	if r.status != 409 && r.status != 400 {
		// One provider per application: the unique constraint refuses a second.
		t.Errorf("second application on one provider: %d %s", r.status, r.body)
	}
	r = admin.call("POST", "core/applications/", map[string]any{"name": "Wiki", "slug": "wiki", "meta_launch_url": "https://wiki.example.com/"}, true)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for name, body := range map[string]map[string]any{
		"reserved slug":    {"name": "x", "slug": "authorize"},
		"bad launch url":   {"name": "x", "slug": "x", "meta_launch_url": "javascript:alert(1)"},
		"unknown provider": {"name": "x", "slug": "x", "provider": uuid.NewString()},
		"bad engine mode":  {"name": "x", "slug": "x", "policy_engine_mode": "some"},
	} {
		if r := admin.call("POST", "core/applications/", body, false); r.status != 400 {
			t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
		}
	}
	if r := admin.call("GET", "core/applications/?search=wik", nil, true); len(r.json(t)["results"].([]any)) != 1 {
		t.Errorf("search: %s", r.body)
	}
	// Authentik's clients address applications by slug.
	if r := admin.call("GET", "core/applications/wiki/", nil, true); r.status != 200 || r.json(t)["name"] != "Wiki" {
		t.Errorf("by slug: %d %s", r.status, r.body)
	}
	if r := admin.call("PATCH", "core/applications/wiki/", map[string]any{"name": "Wiki 2"}, true); r.status != 200 || r.json(t)["name"] != "Wiki 2" {
		t.Errorf("PATCH by slug: %d %s", r.status, r.body)
	}
	if r := admin.call("GET", "core/applications/no-such-app/", nil, true); r.status != 404 {
		t.Errorf("unknown slug: %d", r.status)
	}
	if r := admin.call("DELETE", "core/applications/wiki/", nil, true); r.status != 204 {
		t.Errorf("DELETE by slug: %d %s", r.status, r.body)
	}
}

func TestAPIGroupMembershipCannotEscalate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	carol := e.createUser("carol", "Carol-Password-1", store.UserInternal)
	api := e.apiAs(carol)
	helpdesk := &store.Group{Name: "helpdesk"}
	powerful := &store.Group{Name: "powerful"}
	plain := &store.Group{Name: "plain"}
	for _, g := range []*store.Group{helpdesk, powerful, plain} {
		e.sc.Groups().Create(ctx, g)
	}
	e.sc.Groups().AddMember(ctx, helpdesk.ID, carol.ID)
	give := func(g *store.Group, perms ...string) {
		r := &store.Role{Name: "role-" + g.Name}
		e.sc.Roles().Create(ctx, r)
		e.sc.Roles().SetPermissions(ctx, r.ID, perms)
		e.sc.Roles().AssignToGroup(ctx, r.ID, g.ID)
	}
	give(helpdesk, "authentik_core.change_group", "authentik_core.view_user")
	give(powerful, "authentik_core.delete_user")
	admins := &store.Group{Name: "admins", IsSuperuser: true}
	e.sc.Groups().Create(ctx, admins)
	child := &store.Group{Name: "child-of-admins", ParentID: uuid.NullUUID{UUID: admins.ID, Valid: true}}
	e.sc.Groups().Create(ctx, child)

	for name, g := range map[string]*store.Group{"a group with a permission carol lacks": powerful,
		"a child of a superuser group": child} {
		r := api.call("POST", "core/groups/"+g.ID.String()+"/add_user/", map[string]any{"pk": carol.ID}, true)
		if r.status != 403 {
			t.Errorf("adding herself to %s: %d %s, want 403", name, r.status, r.body)
		}
		if ids, _ := e.sc.Groups().Members(ctx, g.ID); len(ids) != 0 {
			t.Errorf("%s: the refused membership was stored", name)
		}
	}
	if r := api.call("POST", "core/groups/"+plain.ID.String()+"/add_user/", map[string]any{"pk": carol.ID}, true); r.status != 204 {
		t.Errorf("a group granting nothing new: %d %s", r.status, r.body)
	}
}
