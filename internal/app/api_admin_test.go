package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The API sends keys and certificates as PEM files on ?download.
func init() {
	openapi3filter.RegisterBodyDecoder("application/x-pem-file", openapi3filter.FileBodyDecoder)
}

// sessionAPI logs username in with a browser and returns an API client
// that authenticates with that browser's session and CSRF token.
func (e *testEnv) sessionAPI(username, password string) (*apiClient, *client) {
	e.t.Helper()
	b := e.client()
	b.login(username, password)
	c := &apiClient{e: e, http: b.http, router: e.openAPIRouter()}
	me := c.call("GET", "core/users/me/", nil, true)
	if me.status != 200 {
		e.t.Fatalf("me: %d %s", me.status, me.body)
	}
	c.csrf = me.json(e.t)["csrf_token"].(string)
	return c, b
}

// noSecret fails when a response carries any of secrets.
func noSecret(t *testing.T, what string, r apiResp, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(string(r.body), s) {
			t.Errorf("%s: the response carries a secret: %s", what, r.body)
		}
	}
}

func results(t *testing.T, r apiResp) []map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	var out []map[string]any
	for _, x := range r.json(t)["results"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// foreignTenant creates a second tenant reachable as domain, with a user.
func (e *testEnv) foreignTenant(domain string) (store.Scope, *store.User) {
	e.t.Helper()
	ctx := context.Background()
	t := &store.Tenant{Name: domain, Domains: []string{domain}}
	if err := e.app.DB().Tenants().Create(ctx, t); err != nil {
		e.t.Fatal(err)
	}
	sc := e.app.DB().Scope(t.ID)
	u := &store.User{Username: "stranger", Name: "S", IsActive: true, Type: store.UserInternal, Path: "users"}
	if err := e.app.Core().CreateUser(ctx, sc, u, "Stranger-Password-1"); err != nil {
		e.t.Fatal(err)
	}
	return sc, u
}

func TestAPIRoles(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	perms := results(t, admin.call("GET", "rbac/permissions/", nil, true))
	var names []string
	for _, p := range perms {
		names = append(names, p["permission"].(string))
	}
	for _, want := range []string{"authentik_core.view_user", "authentik_core.impersonate", "authentik_rbac.change_role",
		"authentik_crypto.view_certificatekeypair_key", "authentik_providers_oauth2.view_secret", "authentik_core.view_token"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("rbac/permissions/ lacks %s: %v", want, names)
		}
	}
	if strings.Contains(strings.Join(names, " "), "authentik_tenants") {
		t.Errorf("superuser-only permissions offered to roles: %v", names)
	}

	r := admin.call("POST", "rbac/roles/", map[string]any{"name": "helpdesk", "permissions": []string{"authentik_core.view_user"}}, true)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	role := r.json(t)
	id, etag := role["pk"].(string), r.header.Get("ETag")
	for name, tc := range map[string]struct {
		body   any
		status int
		field  string
	}{
		"unknown permission": {map[string]any{"name": "x", "permissions": []string{"authentik_core.fly_user"}}, 400, "permissions"},
		"not a list":         {`{"name":"x","permissions":"authentik_core.view_user"}`, 400, "permissions"},
		"duplicate":          {map[string]any{"name": "HELPDESK"}, 409, "name"},
		"missing name":       {map[string]any{"permissions": []string{}}, 400, "name"},
	} {
		if r := admin.call("POST", "rbac/roles/", tc.body, false); r.status != tc.status || !r.fieldError(tc.field) {
			t.Errorf("%s: %d %s, want %d naming %s", name, r.status, r.body, tc.status, tc.field)
		}
	}
	r = admin.call("PATCH", "rbac/roles/"+id+"/", map[string]any{"name": "Helpdesk", "permissions": []string{"authentik_core.view_user",
		"authentik_core.view_group"}}, true, "If-Match", etag)
	if r.status != 200 || r.json(t)["name"] != "Helpdesk" || len(r.json(t)["permissions"].([]any)) != 2 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if r := admin.call("PATCH", "rbac/roles/"+id+"/", map[string]any{"name": "lost"}, true, "If-Match", etag); r.status != 412 {
		t.Errorf("stale If-Match: %d %s, want 412", r.status, r.body)
	}

	// A role manager without superuser rights grants only what they hold.
	mgr := e.createUser("manager", "Manager-Password-1", store.UserInternal)
	e.grant(mgr, "authentik_rbac.view_role", "authentik_rbac.add_role", "authentik_rbac.change_role",
		"authentik_core.change_group", "authentik_core.view_user")
	m := e.apiAs(mgr)
	if r := m.call("POST", "rbac/roles/", map[string]any{"name": "escalate", "permissions": []string{"authentik_core.add_user"}}, true); r.status != 403 {
		t.Errorf("granting a permission the caller lacks: %d %s, want 403", r.status, r.body)
	}
	if r := m.call("POST", "rbac/roles/", map[string]any{"name": "viewers", "permissions": []string{"view_user"}}, true); r.status != 201 {
		t.Errorf("granting a held permission (short name): %d %s", r.status, r.body)
	}
	if r := m.call("PATCH", "rbac/roles/"+id+"/", map[string]any{"permissions": []string{"authentik_core.view_user",
		"authentik_core.view_group", "authentik_core.delete_user"}}, true); r.status != 403 {
		t.Errorf("adding a permission the caller lacks to a role: %d %s, want 403", r.status, r.body)
	}
	g := &store.Group{Name: "support"}
	e.sc.Groups().Create(context.Background(), g)
	// helpdesk holds view_group, which the manager does not: assigning it
	// to a group would hand view_group to its members.
	if r := m.call("POST", "rbac/roles/"+id+"/assign/", map[string]any{"group": g.ID}, true); r.status != 403 {
		t.Errorf("assigning a role with permissions the caller lacks: %d %s", r.status, r.body)
	}
	if r := admin.call("POST", "rbac/roles/"+id+"/assign/", map[string]any{"group": g.ID}, true); r.status != 204 {
		t.Fatalf("assign: %d %s", r.status, r.body)
	}
	if got := admin.call("GET", "rbac/roles/"+id+"/", nil, true).json(t)["groups"].([]any); len(got) != 1 || got[0] != g.ID.String() {
		t.Errorf("groups after assign: %v", got)
	}
	if r := admin.call("POST", "rbac/roles/"+id+"/assign/", map[string]any{"group": uuid.New()}, true); r.status != 400 || !r.fieldError("group") {
		t.Errorf("assign to a missing group: %d %s", r.status, r.body)
	}
	if r := admin.call("POST", "rbac/roles/"+id+"/unassign/", map[string]any{"group": g.ID}, true); r.status != 204 {
		t.Errorf("unassign: %d %s", r.status, r.body)
	}
	plain := e.apiAs(e.createUser("plain", "Plain-Password-1", store.UserInternal))
	for _, c := range []struct{ method, path string }{{"GET", "rbac/roles/"}, {"GET", "rbac/permissions/"}, {"DELETE", "rbac/roles/" + id + "/"}} {
		if r := plain.call(c.method, c.path, nil, true); r.status != 403 {
			t.Errorf("%s %s without permission: %d", c.method, c.path, r.status)
		}
	}
	if r := admin.call("DELETE", "rbac/roles/"+id+"/", nil, true); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	other, _ := e.foreignTenant("roles.example")
	foreign := &store.Role{Name: "foreign"}
	other.Roles().Create(context.Background(), foreign)
	if r := admin.call("GET", "rbac/roles/"+foreign.ID.String()+"/", nil, true); r.status != 404 {
		t.Errorf("another tenant's role: %d, want 404", r.status)
	}
	if len(e.events("model_created")) == 0 || len(e.events("model_deleted")) == 0 {
		t.Error("no model events for roles")
	}
}

func TestAPITokens(t *testing.T) {
	e := newEnv(t)
	root := e.superuser("root")
	admin := e.apiAs(root)
	alice := e.createUser("alice", "Alice-Password-1", store.UserInternal)
	bob := e.createUser("bob", "Bob-Password-1", store.UserInternal)
	ac, bc := e.apiAs(alice), e.apiAs(bob)

	// Every user manages their own tokens, without any permission.
	r := ac.call("POST", "core/tokens/", map[string]any{"identifier": "alice-ci", "description": "CI", "expiring": false}, true)
	if r.status != 201 {
		t.Fatalf("create own token: %d %s", r.status, r.body)
	}
	tok := r.json(t)
	key := tok["key"].(string)
	if len(key) != 60 || tok["user"] != alice.ID.String() || tok["intent"] != "api" || tok["expiring"] != true || tok["expires"] == nil {
		// Without add_token, "expiring": false is ignored, as in Authentik.
		t.Errorf("created token: %v", tok)
	}
	if me := (&apiClient{e: e, token: key, http: http.DefaultClient, router: ac.router}).call("GET", "core/users/me/", nil, true); me.status != 200 {
		t.Errorf("the new key does not authenticate: %d", me.status)
	}
	for _, path := range []string{"core/tokens/", "core/tokens/alice-ci/", "core/tokens/" + tok["pk"].(string) + "/"} {
		r := ac.call("GET", path, nil, true)
		if r.status != 200 {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
		noSecret(t, path, r, key)
	}
	if list := results(t, ac.call("GET", "core/tokens/", nil, true)); len(list) != 2 { // alice-ci and the harness's own
		t.Errorf("alice's tokens: %v", list)
	}
	// Bob sees neither alice's tokens nor that they exist.
	for _, l := range results(t, bc.call("GET", "core/tokens/", nil, true)) {
		if l["user"] != bob.ID.String() {
			t.Errorf("bob lists someone else's token: %v", l)
		}
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := bc.call(m, "core/tokens/alice-ci/", nil, true); r.status != 404 {
			t.Errorf("%s another user's token: %d, want 404", m, r.status)
		}
	}
	if r := bc.call("POST", "core/tokens/", map[string]any{"identifier": "for-alice", "user": alice.ID}, true); r.status != 403 {
		t.Errorf("token for another user without add_token: %d", r.status)
	}
	for name, tc := range map[string]struct {
		body  any
		field string
	}{
		"past expiry":      {map[string]any{"expires": time.Now().Add(-time.Hour)}, "expires"},
		"recovery intent":  {`{"intent":"recovery"}`, "intent"},
		"bad identifier":   {map[string]any{"identifier": "no spaces"}, "identifier"},
		"unknown field":    {`{"key":"chosen"}`, "key"},
		"expires, never":   {map[string]any{"expiring": false, "expires": time.Now().Add(time.Hour)}, "expires"},
		"wrong field type": {`{"description":5}`, "description"},
	} {
		if r := bc.call("POST", "core/tokens/", tc.body, false); r.status != 400 || !r.fieldError(tc.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", name, r.status, r.body, tc.field)
		}
	}
	// Identifiers are unique per owner (TestAuthzTokenIdentifiersAreUniquePerOwner).
	for i, want := range []int{201, 409} {
		if r := bc.call("POST", "core/tokens/", map[string]any{"identifier": "bob-ci"}, true); r.status != want {
			t.Errorf("bob's identifier, time %d: %d, want %d", i+1, r.status, want)
		}
	}

	// A helpdesk with the token permissions sees all tokens but cannot
	// mint one for a superuser (that would make it one).
	help := e.createUser("help", "Help-Password-1", store.UserInternal)
	e.grant(help, "authentik_core.view_token", "authentik_core.add_token", "authentik_core.delete_token")
	hc := e.apiAs(help)
	if list := results(t, hc.call("GET", "core/tokens/?user__username=alice", nil, true)); len(list) != 2 {
		t.Errorf("tokens of alice for the helpdesk: %v", list)
	}
	if r := hc.call("POST", "core/tokens/", map[string]any{"identifier": "root-token", "user": root.ID}, true); r.status != 403 {
		t.Errorf("minting a superuser's token without being one: %d %s", r.status, r.body)
	}
	r = hc.call("POST", "core/tokens/", map[string]any{"identifier": "bob-app", "user": bob.ID, "intent": "app_password",
		"expiring": false}, true)
	if r.status != 201 || r.json(t)["expires"] != nil {
		t.Errorf("app password for bob by the helpdesk: %d %s", r.status, r.body)
	}
	noSecret(t, "list", hc.call("GET", "core/tokens/", nil, true), key, r.json(t)["key"].(string))
	if r := hc.call("DELETE", "core/tokens/alice-ci/", nil, true); r.status != 204 {
		t.Errorf("helpdesk deletes alice's token: %d", r.status)
	}
	if r := ac.call("POST", "core/tokens/", map[string]any{"identifier": "second"}, true); r.status != 201 {
		t.Fatalf("create: %d", r.status)
	}
	if r := ac.call("DELETE", "core/tokens/second/", nil, true); r.status != 204 {
		t.Errorf("delete own token: %d", r.status)
	}
	other, stranger := e.foreignTenant("tokens.example")
	secret, _ := e.app.Core().CreateToken(context.Background(), other, &store.Token{UserID: stranger.ID, Intent: store.IntentAPI,
		Identifier: "foreign"}, "")
	for _, p := range []string{"core/tokens/foreign/"} {
		if r := admin.call("GET", p, nil, true); r.status != 404 {
			t.Errorf("another tenant's token: %d", r.status)
		}
	}
	if r := (&apiClient{e: e, token: secret, http: http.DefaultClient, router: admin.router}).call("GET", "core/users/me/", nil, true); r.status != 401 {
		t.Errorf("another tenant's token authenticates here: %d", r.status)
	}
	for _, ev := range e.events("model_created") {
		if strings.Contains(strings.Join([]string{ev.Username, ev.App}, ""), key) {
			t.Error("a token key is in an event")
		}
	}
}

// selfSigned makes an EC certificate and its key as PEM.
func selfSigned(t *testing.T, cn string) (certPEM, keyPEM string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
}

func TestAPICertificateKeyPairs(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	const base = "crypto/certificatekeypairs/"

	r := admin.call("POST", base+"generate/", map[string]any{"common_name": "Signing", "alg": "ecdsa", "validity_days": 30}, true)
	if r.status != 200 {
		t.Fatalf("generate: %d %s", r.status, r.body)
	}
	gen := r.json(t)
	id := gen["pk"].(string)
	if gen["key_type"] != "ec" || gen["private_key_available"] != true || gen["kid"] == "" || !strings.Contains(gen["cert_subject"].(string), "Signing") {
		t.Errorf("generated: %v", gen)
	}
	certPEM, keyPEM := selfSigned(t, "imported.example")
	r = admin.call("POST", base, map[string]any{"name": "Imported", "certificate_data": certPEM, "key_data": keyPEM}, true)
	if r.status != 201 || r.json(t)["private_key_available"] != true {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	imported := r.json(t)["pk"].(string)
	_, otherKey := selfSigned(t, "other")
	for name, body := range map[string]map[string]any{
		"mismatched key":  {"name": "Bad", "certificate_data": certPEM, "key_data": otherKey},
		"not a cert":      {"name": "Bad", "certificate_data": "hello"},
		"no certificate":  {"name": "Bad"},
		"bad alg":         {"common_name": "x", "alg": "dsa"},
		"contradiction":   {"common_name": "x", "alg": "rsa", "key_type": "ec"},
		"no common name":  {"alg": "rsa"},
		"silly validity":  {"common_name": "x", "validity_days": 0},
		"unknown setting": {"common_name": "x", "subject": "y"},
	} {
		path := base
		if _, ok := body["common_name"]; ok || body["alg"] != nil {
			path += "generate/"
		}
		if r := admin.call("POST", path, body, false); r.status != 400 {
			t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
		}
	}
	// The private key is in no list, detail or event.
	list := admin.call("GET", base, nil, true)
	detail := admin.call("GET", base+imported+"/", nil, true)
	for _, x := range []apiResp{list, detail} {
		if strings.Contains(string(x.body), "PRIVATE KEY") || strings.Contains(string(x.body), "key_data") {
			t.Errorf("a private key in a response: %s", x.body)
		}
	}
	if len(results(t, list)) != 3 { // the managed default, the generated one, the imported one
		t.Errorf("key pairs: %s", list.body)
	}

	// Viewing needs the special permissions; each view is a secret_view.
	viewer := e.createUser("viewer", "Viewer-Password-1", store.UserInternal)
	e.grant(viewer, "authentik_crypto.view_certificatekeypair", "authentik_crypto.view_certificatekeypair_certificate")
	vc := e.apiAs(viewer)
	if r := vc.call("GET", base+imported+"/view_private_key/", nil, true); r.status != 403 {
		t.Errorf("view_private_key without its permission: %d", r.status)
	}
	if r := vc.call("GET", base+imported+"/view_certificate/", nil, true); r.status != 200 || r.json(t)["data"] != certPEM {
		t.Errorf("view_certificate: %d %s", r.status, r.body)
	}
	r = admin.call("GET", base+imported+"/view_private_key/", nil, true)
	if r.status != 200 || r.json(t)["data"] != keyPEM {
		t.Errorf("view_private_key: %d %s", r.status, r.body)
	}
	r = admin.call("GET", base+imported+"/view_private_key/?download", nil, false)
	if r.status != 200 || string(r.body) != keyPEM || r.header.Get("Content-Type") != "application/x-pem-file" ||
		!strings.Contains(r.header.Get("Content-Disposition"), "Imported_private_key.pem") {
		t.Errorf("download: %d %v %s", r.status, r.header, r.body)
	}
	views := e.events("secret_view")
	if len(views) != 3 {
		t.Fatalf("secret_view events: %d, want 3", len(views))
	}
	for _, ev := range views {
		m, _ := ev.Context["model"].(map[string]any)
		if m["pk"] != imported || (ev.Context["type"] != "certificate" && ev.Context["type"] != "private_key") {
			t.Errorf("secret_view context: %v", ev.Context)
		}
	}

	// Renaming is the one change; key material is not.
	r = admin.call("PATCH", base+imported+"/", map[string]any{"name": "Renamed"}, true, "If-Match", detail.header.Get("ETag"))
	if r.status != 200 || r.json(t)["name"] != "Renamed" {
		t.Errorf("rename: %d %s", r.status, r.body)
	}
	if r := admin.call("PATCH", base+imported+"/", map[string]any{"name": "Lost"}, true, "If-Match", detail.header.Get("ETag")); r.status != 412 {
		t.Errorf("stale If-Match: %d", r.status)
	}
	if r := admin.call("PATCH", base+imported+"/", map[string]any{"key_data": otherKey}, true); r.status != 400 {
		t.Errorf("changing the key: %d %s", r.status, r.body)
	}

	// Rotation adds a key to the set; a key providers sign with stays.
	r = admin.call("POST", base+id+"/rotate/", map[string]any{"publish_ahead": "hours=1", "grace": "hours=2"}, true)
	if r.status != 200 || r.json(t)["rotation_set"] != gen["rotation_set"] || r.json(t)["active_from"] == nil {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	if r := admin.call("POST", base+id+"/rotate/", map[string]any{"grace": "soon"}, true); r.status != 400 || !r.fieldError("grace") {
		t.Errorf("bad grace: %d %s", r.status, r.body)
	}
	managed, _ := e.app.svc.keys.EnsureDefault(context.Background(), e.sc)
	if r := admin.call("DELETE", base+managed.ID.String()+"/", nil, true); r.status != 400 {
		t.Errorf("deleting the managed key: %d %s", r.status, r.body)
	}
	e.oidcApp("signed", func(c *oauth2.Config) { c.SigningKey = imported })
	if r := admin.call("DELETE", base+imported+"/", nil, true); r.status != 409 {
		t.Errorf("deleting a provider's only key: %d %s", r.status, r.body)
	}
	if r := admin.call("DELETE", base+id+"/", nil, true); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	plain := e.apiAs(e.createUser("plain", "Plain-Password-1", store.UserInternal))
	if r := plain.call("GET", base, nil, true); r.status != 403 {
		t.Errorf("list without permission: %d", r.status)
	}
	other, _ := e.foreignTenant("keys.example")
	foreign, err := e.app.svc.keys.EnsureDefault(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "view_private_key/"} {
		if r := admin.call("GET", base+foreign.ID.String()+"/"+p, nil, true); r.status != 404 {
			t.Errorf("another tenant's key pair %s: %d", p, r.status)
		}
	}
}

func TestAPIOAuth2Providers(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	const base = "providers/oauth2/"
	r := admin.call("POST", base, map[string]any{"name": "Wiki", "redirect_uris": []map[string]any{
		{"matching_mode": "strict", "url": "https://wiki.example.com/cb"}}}, true)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	p := r.json(t)
	id, clientID := p["pk"].(string), p["client_id"].(string)
	if len(clientID) != oauth2.ClientIDLength || p["authorization_flow"] == nil || p["signing_key"] == nil ||
		len(p["property_mappings"].([]any)) == 0 || p["client_type"] != "confidential" || p["access_token_validity"] != "hours=1" {
		t.Errorf("defaults: %v", p)
	}
	if _, ok := p["client_secret"]; ok {
		t.Errorf("the secret is in the create response: %v", p)
	}
	if r := admin.call("POST", "core/applications/", map[string]any{"name": "Wiki", "slug": "wiki", "provider": id}, true); r.status != 201 {
		t.Fatalf("application: %d %s", r.status, r.body)
	}

	// Only secret/ shows the secret, with view_secret, as a secret_view.
	auditor := e.createUser("auditor", "Auditor-Password-1", store.UserInternal)
	e.grant(auditor, "authentik_providers_oauth2.view_oauth2provider", "authentik_core.view_provider")
	au := e.apiAs(auditor)
	if r := au.call("GET", base+id+"/secret/", nil, true); r.status != 403 {
		t.Errorf("secret without view_secret: %d", r.status)
	}
	sr := admin.call("GET", base+id+"/secret/", nil, true)
	secret, _ := sr.json(t)["client_secret"].(string)
	if sr.status != 200 || len(secret) != oauth2.ClientSecretLength || sr.json(t)["client_id"] != clientID {
		t.Fatalf("secret: %d %s", sr.status, sr.body)
	}
	if ev := e.events("secret_view"); len(ev) != 1 || ev[0].App != "wiki" || ev[0].Username != "root" {
		t.Errorf("secret_view events: %+v", ev)
	}
	for _, path := range []string{base, base + id + "/", "providers/all/", "providers/all/" + id + "/"} {
		r := au.call("GET", path, nil, true)
		if r.status != 200 {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
		noSecret(t, path, r, secret)
	}
	all := results(t, au.call("GET", "providers/all/", nil, true))
	if len(all) != 1 || all[0]["assigned_application_slug"] != "wiki" || all[0]["meta_model_name"] != oauth2.BlueprintModel {
		t.Errorf("providers/all: %v", all)
	}

	// The secret works at the token endpoint until it is rotated.
	grant := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}
	if tr := e.postToken(grant, clientID, secret); tr.status != 200 {
		t.Fatalf("client_credentials with the API's secret: %d %s", tr.status, tr.raw)
	}
	rr := admin.call("POST", base+id+"/rotate_secret/", nil, true)
	rotated, _ := rr.json(t)["client_secret"].(string)
	if rr.status != 200 || rotated == secret || len(rotated) != oauth2.ClientSecretLength || len(e.events("secret_rotate")) != 1 {
		t.Fatalf("rotate_secret: %d %s", rr.status, rr.body)
	}
	e.postToken(grant, clientID, secret).wantError(t, "the old secret", 401, "invalid_client")
	if tr := e.postToken(grant, clientID, rotated); tr.status != 200 {
		t.Errorf("the rotated secret: %d %s", tr.status, tr.raw)
	}

	// Without a signing key, ID tokens are HS256 with the secret: a short
	// one is refused, as every login would fail.
	if r := admin.call("PATCH", base+id+"/", map[string]any{"signing_key": nil, "client_secret": "short"}, true); r.status != 400 || !r.fieldError("client_secret") {
		t.Errorf("a short secret for HS256: %d %s", r.status, r.body)
	}
	const adminSecret = "chosen-by-the-admin-0123456789abcdefghij"
	detail := admin.call("GET", base+id+"/", nil, true)
	r = admin.call("PATCH", base+id+"/", map[string]any{"access_token_validity": "minutes=5", "signing_key": nil,
		"client_secret": adminSecret}, true, "If-Match", detail.header.Get("ETag"))
	if r.status != 200 || r.json(t)["access_token_validity"] != "minutes=5" || r.json(t)["signing_key"] != nil ||
		r.json(t)["redirect_uris"].([]any)[0].(map[string]any)["url"] != "https://wiki.example.com/cb" {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	noSecret(t, "patch", r, adminSecret)
	if tr := e.postToken(grant, clientID, adminSecret); tr.status != 200 {
		t.Errorf("the secret set by PATCH: %d %s", tr.status, tr.raw)
	}
	if r := admin.call("PATCH", base+id+"/", map[string]any{"name": "Lost"}, true, "If-Match", detail.header.Get("ETag")); r.status != 412 {
		t.Errorf("stale If-Match: %d", r.status)
	}
	for name, tc := range map[string]struct {
		body  any
		field string
	}{
		"javascript redirect": {map[string]any{"redirect_uris": []map[string]any{{"matching_mode": "strict", "url": "javascript:alert(1)"}}}, "redirect_uris"},
		"unknown flow":        {map[string]any{"authorization_flow": uuid.New()}, "authorization_flow"},
		"bad validity":        {map[string]any{"access_token_validity": "forever"}, "access_token_validity"},
		"bad sub mode":        {map[string]any{"sub_mode": "nickname"}, "sub_mode"},
		"unknown field":       {`{"jwks_sources":[]}`, "jwks_sources"},
		"empty secret":        {map[string]any{"client_secret": ""}, "client_secret"},
		"duplicate client id": {map[string]any{"client_id": clientID, "name": "Other"}, "client_id"},
	} {
		method, path := "PATCH", base+id+"/"
		if name == "duplicate client id" {
			method, path = "POST", base
		}
		if r := admin.call(method, path, tc.body, false); r.status != 400 || !r.fieldError(tc.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", name, r.status, r.body, tc.field)
		}
	}
	if r := au.call("PATCH", base+id+"/", map[string]any{"name": "x"}, true); r.status != 403 {
		t.Errorf("change without permission: %d", r.status)
	}
	other, _ := e.foreignTenant("providers.example")
	foreign := &store.Provider{Name: "foreign", Kind: oauth2.Kind, ClientID: "foreign-client"}
	if err := other.Providers().Create(context.Background(), foreign); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{base + foreign.ID.String() + "/", base + foreign.ID.String() + "/secret/", "providers/all/" + foreign.ID.String() + "/"} {
		if r := admin.call("GET", p, nil, true); r.status != 404 {
			t.Errorf("another tenant's provider %s: %d", p, r.status)
		}
	}
	if r := admin.call("DELETE", base+id+"/", nil, true); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	e.postToken(grant, clientID, adminSecret).wantError(t, "a deleted provider", 401, "invalid_client")
}

func TestAPIAuthenticatedSessions(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	e.createUser("bob", "Bob-Password-1", store.UserInternal)
	lr := newLogoutReceiver(t)
	aID, aSecret := e.logoutApp("app-a", lr.srv.URL+"/a")
	api, _ := e.sessionAPI("alice", "Alice-Password-1")
	other := e.client()
	other.login("alice", "Alice-Password-1")
	in := other.signIn(e.rp("app-a", aID, aSecret))
	bobAPI, _ := e.sessionAPI("bob", "Bob-Password-1")

	list := results(t, api.call("GET", "core/authenticated_sessions/", nil, true))
	if len(list) != 2 {
		t.Fatalf("alice's sessions: %v", list)
	}
	var otherID string
	for _, s := range list {
		if s["current"] == false {
			otherID = s["uuid"].(string)
		}
	}
	if otherID == "" {
		t.Fatalf("no session that is not current: %v", list)
	}
	if r := bobAPI.call("DELETE", "core/authenticated_sessions/"+otherID+"/", nil, true); r.status != 404 {
		t.Errorf("bob ends alice's session: %d, want 404", r.status)
	}
	if r := api.call("DELETE", "core/authenticated_sessions/"+otherID+"/", nil, true); r.status != 204 {
		t.Fatalf("end own session: %d %s", r.status, r.body)
	}
	if st, _ := other.status("/api/v3/core/users/me/"); st != 401 {
		t.Errorf("the ended session still works: %d", st)
	}
	lr.waitTokens(t, "/a")
	e.checkLogoutToken(t, "app-a", lr.tokens("/a")[0], in)
	if in.userinfoWorks() {
		t.Error("tokens of the ended session still work")
	}

	root := e.superuser("root")
	admin := e.apiAs(root)
	if all := results(t, admin.call("GET", "core/authenticated_sessions/", nil, true)); len(all) != 2 {
		t.Errorf("every session for an admin: %v", all)
	}
	if mine := results(t, admin.call("GET", "core/authenticated_sessions/?user__username=bob", nil, true)); len(mine) != 1 {
		t.Errorf("bob's sessions for an admin: %v", mine)
	}
	if r := api.call("GET", "core/authenticated_sessions/?user__username=bob", nil, true); r.status != 200 ||
		len(results(t, r)) != 1 || results(t, r)[0]["current"] != true {
		t.Errorf("without permission the filter narrows nothing beyond one's own: %s", r.body)
	}
}

// hostTransport sends every request with another Host, as a browser on
// another tenant's domain would.
type hostTransport struct{ host string }

func (h hostTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Host = h.host
	return http.DefaultTransport.RoundTrip(r)
}

func TestAPITenants(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	r := admin.call("POST", "tenants/tenants/", map[string]any{"name": "Acme", "domains": []string{"acme.example"},
		"event_retention": "days=30"}, true)
	if r.status != 201 || r.json(t)["event_retention"] != "days=30" {
		t.Fatalf("create tenant: %d %s", r.status, r.body)
	}
	acmeID := uuid.MustParse(r.json(t)["tenant_uuid"].(string))
	if r := admin.call("POST", "tenants/domains/", map[string]any{"domain": "ACME2.example", "tenant": acmeID}, true); r.status != 201 {
		t.Errorf("add domain: %d %s", r.status, r.body)
	}
	for name, body := range map[string]any{
		"bad domain":    map[string]any{"name": "x", "domains": []string{"http://x"}},
		"bad retention": map[string]any{"name": "x", "event_retention": "a while"},
		"taken domain":  map[string]any{"name": "x", "domains": []string{"acme.example"}},
	} {
		if r := admin.call("POST", "tenants/tenants/", body, true); r.status != 400 && r.status != 409 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	acme := e.app.DB().Scope(acmeID)
	if _, err := acme.Flows().GetBySlug(context.Background(), "default-authentication-flow"); err != nil {
		t.Errorf("the new tenant has no default flows: %v", err)
	}
	// The tenant's own admin, a superuser there, sees nothing above it.
	boss := &store.User{Username: "boss", Name: "Boss", IsActive: true, Type: store.UserInternal, Path: "users"}
	ctx := context.Background()
	if err := e.app.Core().CreateUser(ctx, acme, boss, ""); err != nil {
		t.Fatal(err)
	}
	g := &store.Group{Name: "acme admins", IsSuperuser: true}
	acme.Groups().Create(ctx, g)
	acme.Groups().AddMember(ctx, g.ID, boss.ID)
	key, err := e.app.Core().CreateToken(ctx, acme, &store.Token{UserID: boss.ID, Intent: store.IntentAPI}, "")
	if err != nil {
		t.Fatal(err)
	}
	tenantAdmin := &apiClient{e: e, token: key, http: &http.Client{Transport: hostTransport{"acme2.example"}}, router: admin.router}
	if r := tenantAdmin.call("GET", "core/users/me/", nil, true); r.status != 200 || r.json(t)["is_superuser"] != true {
		t.Fatalf("the tenant admin on the new domain: %d %s", r.status, r.body)
	}
	for _, p := range []string{"tenants/tenants/", "tenants/tenants/" + acmeID.String() + "/", "tenants/domains/"} {
		if r := tenantAdmin.call("GET", p, nil, true); r.status != 403 {
			t.Errorf("tenant admin GET %s: %d, want 403", p, r.status)
		}
	}
	if r := tenantAdmin.call("POST", "tenants/tenants/", map[string]any{"name": "mine"}, true); r.status != 403 {
		t.Errorf("tenant admin creates a tenant: %d", r.status)
	}
	root, _ := e.sc.Users().GetByUsername(ctx, "root")
	defKey, _ := e.app.svc.keys.EnsureDefault(ctx, e.sc)
	tok := &store.Token{UserID: root.ID, Intent: store.IntentAppPassword, Identifier: "root-app"}
	e.app.Core().CreateToken(ctx, e.sc, tok, "")
	role := &store.Role{Name: "default-role"}
	e.sc.Roles().Create(ctx, role)
	for _, p := range []string{"core/users/" + root.ID.String() + "/", "core/tokens/root-app/", "core/tokens/" + tok.ID.String() + "/",
		"crypto/certificatekeypairs/" + defKey.ID.String() + "/", "rbac/roles/" + role.ID.String() + "/"} {
		if r := tenantAdmin.call("GET", p, nil, true); r.status != 404 {
			t.Errorf("tenant admin reads the default tenant's %s: %d, want 404", p, r.status)
		}
	}
	for _, p := range []string{"core/users/", "core/tokens/", "events/events/", "crypto/certificatekeypairs/"} {
		noSecret(t, p, tenantAdmin.call("GET", p, nil, true), "root", root.ID.String(), defKey.ID.String())
	}
	plain := e.apiAs(e.createUser("plain", "Plain-Password-1", store.UserInternal))
	if r := plain.call("GET", "tenants/tenants/", nil, true); r.status != 403 {
		t.Errorf("a plain user lists tenants: %d", r.status)
	}
}

func TestAPIEventsBrowse(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	for _, n := range []string{"one", "two"} {
		admin.call("POST", "core/groups/", map[string]any{"name": n}, true)
	}
	list := results(t, admin.call("GET", "events/events/?action=model_created&username=root", nil, true))
	if len(list) != 2 || list[0]["context"].(map[string]any)["model"].(map[string]any)["name"] != "two" {
		t.Errorf("newest first: %v", list)
	}
	if old := results(t, admin.call("GET", "events/events/?action=model_created&ordering=created", nil, true)); old[0]["context"].(map[string]any)["model"].(map[string]any)["name"] != "one" {
		t.Errorf("oldest first: %v", old)
	}
	if user := list[0]["user"].(map[string]any); user["username"] != "root" || user["on_behalf_of"] != nil {
		t.Errorf("event user: %v", user)
	}
	for _, bad := range []string{"events/events/?search=x", "events/events/?ordering=action", "events/events/?nope=1"} {
		if r := admin.call("GET", bad, nil, false); r.status != 400 {
			t.Errorf("GET %s: %d, want 400", bad, r.status)
		}
	}
	plain := e.apiAs(e.createUser("plain", "Plain-Password-1", store.UserInternal))
	if r := plain.call("GET", "events/events/", nil, true); r.status != 403 {
		t.Errorf("events without permission: %d", r.status)
	}
}

func TestAPIImpersonation(t *testing.T) {
	e := newEnv(t)
	root := e.superuser("root")
	alice := e.createUser("alice", "Alice-Password-1", store.UserInternal)
	sess, browser := e.sessionAPI("root", "Admin-Password-1")
	path := "core/users/" + alice.ID.String() + "/impersonate/"
	id, secret := e.oidcApp("imp-app", nil)

	if r := sess.call("POST", path, map[string]any{}, true); r.status != 400 || !r.fieldError("reason") {
		t.Errorf("without a reason: %d %s", r.status, r.body)
	}
	if r := sess.call("POST", "core/users/"+root.ID.String()+"/impersonate/", map[string]any{"reason": "x"}, true); r.status != 403 {
		t.Errorf("impersonating oneself: %d", r.status)
	}
	if r := e.apiAs(root).call("POST", path, map[string]any{"reason": "ticket 1"}, true); r.status != 400 {
		t.Errorf("impersonating with an API token: %d %s", r.status, r.body)
	}
	if r := sess.call("POST", path, map[string]any{"reason": "ticket 1"}, true); r.status != 204 {
		t.Fatalf("impersonate: %d %s", r.status, r.body)
	}
	me := sess.call("GET", "core/users/me/", nil, true).json(t)
	if me["user"].(map[string]any)["username"] != "alice" || me["original"].(map[string]any)["username"] != "root" || me["is_superuser"] != false {
		t.Fatalf("me while impersonating: %v", me)
	}
	// Acting as alice: alice's permissions, alice's tokens; events name root.
	if r := sess.call("GET", "core/users/", nil, true); r.status != 403 {
		t.Errorf("alice's permissions while impersonated: %d", r.status)
	}
	if r := sess.call("POST", path, map[string]any{"reason": "again"}, true); r.status != 403 && r.status != 400 {
		t.Errorf("impersonating inside an impersonation: %d", r.status)
	}
	if r := sess.call("POST", "core/tokens/", map[string]any{"identifier": "made-by-root"}, true); r.status != 201 || r.json(t)["user"] != alice.ID.String() {
		t.Fatalf("token while impersonating: %d %s", r.status, r.body)
	}
	var made bool
	for _, ev := range e.events("model_created") {
		if m, _ := ev.Context["model"].(map[string]any); m["name"] == "made-by-root" {
			made = ev.Username == "alice" && ev.ImpersonatorUsername == "root" && ev.Context["impersonator"] == "root"
		}
	}
	if !made {
		t.Error("the event of a write while impersonating does not name the impersonator")
	}
	// Outside the API too: signing in to an application as alice names root.
	browser.authorize(e.rp("imp-app", id, secret).conf.AuthCodeURL("s"))
	if evs := e.events("authorize_application"); len(evs) != 1 || evs[0].Username != "alice" ||
		evs[0].ImpersonatorUsername != "root" || evs[0].Context["impersonator"] != "root" {
		t.Errorf("authorize_application while impersonating: want alice on behalf of root, got %+v", evs)
	}
	// alice does not see root's impersonating session among hers.
	aliceAPI, _ := e.sessionAPI("alice", "Alice-Password-1")
	if own := results(t, aliceAPI.call("GET", "core/authenticated_sessions/", nil, true)); len(own) != 1 || own[0]["current"] != true {
		t.Errorf("alice's sessions: %v", own)
	}
	if r := sess.call("GET", "core/users/impersonate_end/", nil, true); r.status != 204 {
		t.Fatalf("impersonate_end: %d %s", r.status, r.body)
	}
	if me := sess.call("GET", "core/users/me/", nil, true).json(t); me["user"].(map[string]any)["username"] != "root" || me["original"] != nil {
		t.Errorf("me after impersonate_end: %v", me)
	}
	started, ended := e.events("impersonation_started"), e.events("impersonation_ended")
	if len(started) != 1 || len(ended) != 1 || started[0].Username != "alice" || started[0].ImpersonatorUsername != "root" ||
		started[0].Context["reason"] != "ticket 1" || ended[0].ImpersonatorUsername != "root" {
		t.Errorf("impersonation events: %+v %+v", started, ended)
	}
	evs := results(t, e.apiAs(root).call("GET", "events/events/?action=impersonation_started", nil, true))
	if u := evs[0]["user"].(map[string]any); u["username"] != "root" || u["on_behalf_of"].(map[string]any)["username"] != "alice" {
		t.Errorf("impersonation event as Authentik shows it: %v", u)
	}

	// A non-superuser with the permission impersonates neither superusers
	// nor users who may do more than they.
	help := e.createUser("help", "Help-Password-1", store.UserInternal)
	e.grant(help, "authentik_core.impersonate", "authentik_core.view_user")
	powerful := e.createUser("powerful", "Powerful-Password-1", store.UserInternal)
	e.grant(powerful, "authentik_core.delete_user")
	hs, _ := e.sessionAPI("help", "Help-Password-1")
	for _, target := range []*store.User{root, powerful} {
		if r := hs.call("POST", "core/users/"+target.ID.String()+"/impersonate/", map[string]any{"reason": "x"}, true); r.status != 403 {
			t.Errorf("helpdesk impersonates %s: %d %s", target.Username, r.status, r.body)
		}
	}
	if r := hs.call("POST", path, map[string]any{"reason": "ticket 2"}, true); r.status != 204 {
		t.Errorf("helpdesk impersonates alice: %d %s", r.status, r.body)
	}
	plain, _ := e.sessionAPI("alice", "Alice-Password-1")
	if r := plain.call("POST", "core/users/"+help.ID.String()+"/impersonate/", map[string]any{"reason": "x"}, true); r.status != 403 {
		t.Errorf("impersonating without the permission: %d", r.status)
	}
}
