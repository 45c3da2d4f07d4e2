package app

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// chooseOption selects the option labelled label in the drop-down named
// name, as a person picking it would (the change event fires).
func chooseOption(b *browser, name, label string) {
	b.t.Helper()
	got := b.eval("choose "+label+" in "+name, `(() => {
		const s = document.querySelector('select[name="`+name+`"]');
		if (!s) { return "no such drop-down"; }
		for (const o of s.options) {
			if (o.textContent.trim() === `+strconv.Quote(label)+`) {
				s.value = o.value;
				s.dispatchEvent(new Event("change", {bubbles: true}));
				return "ok";
			}
		}
		return "no such option among: " + Array.from(s.options).map(o => o.textContent.trim()).join(", ");
	})()`)
	if got != "ok" {
		b.t.Fatalf("browser: choose %q in %s: %s\n  at %s", label, name, got, b.url())
	}
}

// The seed walkthrough's admin steps, done only through the console in
// Chromium: an OpenID Connect application with the wizard (and the client
// ID, secret and issuer it shows), a group bound to the application, and
// the identification stage's enrollment flow, after which the login page
// offers "Sign up". What the UI did is then checked from outside: the
// shown credentials work with go-oidc, and the binding keeps a user
// outside the group out.
func TestBrowserAdminSeedSteps(t *testing.T) {
	e := newEnv(t)
	e.superuser("root")
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	e.createUser("bob", "Bob-Password-1", store.UserInternal)
	b := newBrowser(t)

	b.navigate(e.URL + "/if/admin/")
	browserLogin(t, b, "root", "Admin-Password-1")
	wantPath(t, b, "/if/admin/")
	b.waitText("Overview")

	// Applications → create with provider.
	b.clickText("Create application with provider")
	b.fill("name", "fastapi-demo")
	b.fill("slug", "fastapi-demo")
	b.fill("meta_launch_url", "http://localhost:8000/")
	b.fill("redirect_uris", testRedirect)
	b.fill("post_logout_redirect_uris", "http://localhost:8000/")
	if code := b.clickText("Create application"); code != http.StatusOK {
		t.Fatalf("the wizard answered %d", code)
	}
	b.waitText("Application fastapi-demo created")
	read := func(id string) string {
		return strings.TrimSpace(b.eval("read "+id, `(document.getElementById("`+id+`") || {textContent: ""}).textContent`))
	}
	clientID, secret, issuer := read("client-id"), read("client-secret"), read("issuer")
	if clientID == "" || len(secret) < 64 || issuer != e.URL+"/application/o/fastapi-demo/" {
		t.Fatalf("the wizard shows client ID %q, secret %q, issuer %q", clientID, secret, issuer)
	}
	// With scripts on, the values get copy buttons.
	if !b.visible("button.copy") {
		t.Error("no copy button next to the values")
	}

	// Directory → a group with alice in it.
	b.clickText("Groups")
	b.clickText("New Group")
	b.fill("name", "staff")
	b.clickText("Create")
	b.waitText("Created.")
	b.fill("username", "alice")
	b.clickText("Add member")
	b.waitText("1 member")

	// The application → bind the group.
	b.clickText("Applications")
	b.clickText("fastapi-demo")
	b.waitText(clientID)
	b.clickText("Bind a policy, group or user")
	chooseOption(b, "group", "staff")
	b.clickText("Create")
	wantPath(t, b, "/if/admin/core/applications/"+mustApp(t, e, "fastapi-demo")+"/")
	if txt := b.waitText("Policy, group and user bindings"); !strings.Contains(txt, "staff") {
		t.Fatalf("the application does not list the bound group:\n%s", indent(txt))
	}

	// Flows → default-authentication-flow → its identification stage →
	// enrollment flow.
	b.clickText("Flows")
	b.clickText("default-authentication-flow")
	b.waitText("Stage bindings")
	b.clickText("default-authentication-identification")
	b.clickText("Edit")
	chooseOption(b, "enrollment_flow", "default-enrollment-flow")
	b.clickText("Update")
	b.waitText("Saved.")

	// A visitor now sees "Sign up" on the login page.
	visitor := b.fresh()
	visitor.navigate(e.URL + "/if/flow/default-authentication-flow/")
	visitor.waitText("Sign up")

	// The credentials the wizard showed work with go-oidc, for a member
	// of the bound group only.
	r := e.rp("fastapi-demo", clientID, secret)
	alice := e.client()
	alice.login("alice", "Alice-Password-1")
	verifier := xoauth2.GenerateVerifier()
	cb := alice.authorize(r.conf.AuthCodeURL("s", xoauth2.S256ChallengeOption(verifier)))
	if _, err := r.conf.Exchange(context.Background(), cb.Query().Get("code"), xoauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("the client ID and secret shown by the wizard do not work: %v", err)
	}
	bob := e.client()
	bob.login("bob", "Bob-Password-1")
	resp, err := bob.http.Get(r.conf.AuthCodeURL("s", xoauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("bob is not in staff: want the application to refuse him, got %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func mustApp(t testing.TB, e *testEnv, slug string) string {
	t.Helper()
	a, err := e.sc.Applications().GetBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID.String()
}
