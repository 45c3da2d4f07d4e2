package app

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// seedPython is the interpreter that sees Debian's python3-fastapi,
// python3-authlib and friends (the python3 on PATH may be another one).
const seedPython = "/usr/bin/python3"

// startSeedDemo runs the FastAPI + Authlib demo of the seed walkthrough,
// main.py exactly as written there (testdata/seed/main.py), configured
// only through its .env, and returns its base URL.
func startSeedDemo(t *testing.T, issuer, clientID, secret string, port string) string {
	t.Helper()
	if err := exec.Command(seedPython, "-c", "import fastapi, authlib, uvicorn, dotenv, itsdangerous, httpx").Run(); err != nil {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_ALL") == "1" {
			t.Fatalf("the seed demo needs Debian's python3-fastapi python3-authlib python3-uvicorn python3-dotenv python3-itsdangerous python3-httpx: %v", err)
		}
		t.Skip("the seed demo's Python packages are not installed")
	}
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/seed/main.py")
	if err != nil {
		t.Fatal(err)
	}
	env := "AUTHENTIK_ISSUER=" + issuer + "\nOIDC_CLIENT_ID=" + clientID + "\nOIDC_CLIENT_SECRET=" + secret +
		"\nSESSION_SECRET=seed-test-session-secret\n"
	for name, body := range map[string][]byte{"main.py": src, ".env": []byte(env)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	compat, _ := filepath.Abs("testdata/seed/compat")
	cmd := exec.Command(seedPython, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", port, "--log-level", "warning")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONPATH="+compat)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("FastAPI demo output:\n%s", out.String())
		}
	})
	base := "http://localhost:" + port
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			return base
		}
		if time.Now().After(deadline) {
			t.Fatalf("the FastAPI demo did not start: %v\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeLocalPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestSeedWalkthrough is the seed's HelloWorld end to end in headless
// Chromium: the provider and application are made as `gatehouse app
// create` makes them, the demo runs unchanged, and a user logs in, calls
// the protected API, logs out; then sign-up is enabled as the seed does and
// a new user signs up from the demo's login.
func TestSeedWalkthrough(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	// The demo's pages log their own 404 favicon and the 401 this test
	// provokes; Gatehouse's are checked below.
	b.allowConsoleErrors = true
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	port := freeLocalPort(t)
	created, err := e.app.CreateOAuth2App(context.Background(), e.sc, nil, NewOAuth2App{Name: "fastapi-demo", Slug: "fastapi-demo",
		LaunchURL: "http://localhost:" + port + "/", RedirectURIs: []string{"http://localhost:" + port + "/auth/callback"},
		PostLogoutRedirectURIs: []string{"http://localhost:" + port + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	// The .env gets the issuer as `gatehouse app create` prints it, with
	// its trailing slash (the test server's address in place of
	// PublicURL's); the demo strips the slash itself before it appends
	// /.well-known/openid-configuration.
	issuer := e.URL + strings.TrimPrefix(created.Issuer, e.app.PublicURL())
	if issuer != e.URL+"/application/o/fastapi-demo/" {
		t.Fatalf("app create's issuer is %q", created.Issuer)
	}
	demo := startSeedDemo(t, issuer, created.ClientID, created.ClientSecret, port)

	b.navigate(demo + "/")
	b.waitText("FastAPI + Authentik")
	b.clickText("Login with Authentik")
	if !strings.HasPrefix(b.url(), e.URL+"/if/flow/default-authentication-flow/") {
		t.Fatalf("Login with Authentik led to %s, want Gatehouse's login page", b.url())
	}
	b.fill("uid_field", "alice")
	b.click(`button[type="submit"]`)
	b.fill("password", "Alice-Password-1")
	b.click(`button[type="submit"]`)
	b.waitText("Hello, Alice")
	if !strings.HasPrefix(b.url(), demo+"/") {
		t.Fatalf("after login the browser is at %s, want the demo", b.url())
	}
	b.clickText("Protected API")
	if txt := b.waitText("Hello, alice!"); !strings.Contains(txt, `"message"`) {
		t.Fatalf("/api/hello: %q", txt)
	}
	b.navigate(demo + "/")
	b.clickText("Logout")
	b.waitText("Login with Authentik")
	if st := b.navigate(demo + "/api/hello"); st != http.StatusUnauthorized {
		t.Errorf("/api/hello after logout: %d, want 401", st)
	}

	// The seed's "allow sign-up": link the enrollment flow to the
	// identification stage; the login page then offers Sign up.
	e.linkFlows(true, false)
	nb := b.fresh()
	nb.allowConsoleErrors = true
	nb.navigate(demo + "/")
	nb.clickText("Login with Authentik")
	nb.waitText("Sign up")
	nb.clickText("Sign up")
	for name, value := range map[string]string{"username": "newbie", "name": "New Bie", "email": "newbie@example.com",
		"password": "Correct-Horse-Battery-9", "password_repeat": "Correct-Horse-Battery-9"} {
		nb.fill(name, value)
	}
	nb.click(`button[type="submit"]`)
	nb.waitText("Hello, New Bie")
	u, err := e.sc.Users().GetByUsername(context.Background(), "newbie")
	if err != nil || u.Type != store.UserExternal {
		t.Fatalf("signed-up user: %+v, %v; want an external user", u, err)
	}
	// Gatehouse's pages must load cleanly; the demo's own 404 favicon and
	// the 401 the test provoked are not ours.
	for _, msg := range append(b.consoleErrors(), nb.consoleErrors()...) {
		if strings.Contains(msg, e.URL) {
			t.Errorf("console error on a Gatehouse page: %s", msg)
		}
	}
}

// syncBuffer collects a child process's output from its two pipes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
