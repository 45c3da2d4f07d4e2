package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// maxPropagation is the architecture's promise for an admin's change: every
// replica acts on it within a second. The caches' TTLs (5 s) alone cannot
// keep it; the invalidation bus's NOTIFY does.
const maxPropagation = time.Second

// TestTwoReplicasOnePostgreSQL runs two `gatehouse serve` processes on one
// fresh PostgreSQL database, as a load balancer would see them, and checks
// that neither keeps state the other needs: a login started on one
// finishes on the other, its session works on both, a key rotated on one
// is published by both, each schedule runs once across the two, and an
// admin's change on one is acted on by the other within a second.
func TestTwoReplicasOnePostgreSQL(t *testing.T) {
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("GATEHOUSE_TEST_POSTGRES is not set and GATEHOUSE_TEST_REQUIRE_ALL=1")
		}
		t.Skip("GATEHOUSE_TEST_POSTGRES is not set")
	}
	t.Parallel()
	bin := binary(t)
	env := createDatabase(t, dsn)
	// What replicas must share besides the database: the secret key.
	env["GATEHOUSE_SECRET_KEY"] = rand.Text() + rand.Text()
	env["AUTHENTIK_BOOTSTRAP_PASSWORD"] = "replica-Pass-1"
	env["AUTHENTIK_BOOTSTRAP_TOKEN"] = "replica-token-" + rand.Text()
	env["GATEHOUSE_LOG_LEVEL"] = "debug" // scheduled runs are logged at debug
	replicaEnv := func() map[string]string {
		e := map[string]string{"GATEHOUSE_DATA_DIR": t.TempDir()}
		for k, v := range env {
			e[k] = v
		}
		return e
	}
	// Started together on an empty database: both migrate, bootstrap and
	// race for the first run of every schedule.
	a, b := launch(t, bin, replicaEnv()), launch(t, bin, replicaEnv())
	a.ready(t)
	b.ready(t)
	admin := &apiClient{t: t, token: env["AUTHENTIK_BOOTSTRAP_TOKEN"]}
	for _, p := range []*process{a, b} {
		// Ready does not wait for the listener; its metric says when it listens.
		waitFor(t, "replica "+p.base+" to listen for changes", func() bool {
			return strings.Contains(string(call(t, http.DefaultClient, http.MethodGet, p.metrics+"/metrics", nil, nil, http.StatusOK)),
				"\ngatehouse_invalidation_listening 1\n")
		})
	}

	t.Run("a login started on one replica finishes on the other, and its session works on both", func(t *testing.T) {
		jar, _ := cookiejar.New(nil) // cookies ignore ports: a browser behind a load balancer
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		const flow = "/api/v3/flows/executor/default-authentication-flow/"
		steps := []struct {
			on   *process
			body map[string]any
			want string
		}{
			{a, nil, "ak-stage-identification"},
			{b, map[string]any{"uid_field": "akadmin"}, "ak-stage-password"},
			{a, map[string]any{"password": env["AUTHENTIK_BOOTSTRAP_PASSWORD"]}, "xak-flow-redirect"},
		}
		for i, s := range steps {
			method := http.MethodPost
			if s.body == nil {
				method = http.MethodGet
			}
			got := component(t, call(t, c, method, s.on.base+flow, s.body, nil, http.StatusOK))
			if got != s.want {
				t.Fatalf("step %d on replica %s: challenge %q, want %q", i+1, s.on.base, got, s.want)
			}
		}
		for _, p := range []*process{a, b} {
			me := decode(t, call(t, c, http.MethodGet, p.base+"/api/v3/core/users/me/", nil, nil, http.StatusOK))
			if u, _ := me["user"].(map[string]any); u == nil || u["username"] != "akadmin" {
				t.Errorf("core/users/me/ on %s with the session: %v, want akadmin", p.base, me)
			}
		}
	})

	// An application with a client secret, created on a.
	provider := decode(t, admin.send(a, "POST", "providers/oauth2/", map[string]any{"name": "replicated",
		"client_secret": "first-secret-0123456789"}, http.StatusCreated))
	admin.send(a, "POST", "core/applications/", map[string]any{"name": "Replicated", "slug": "replicated",
		"provider": provider["pk"]}, http.StatusCreated)
	clientID, providerID, keyID := field(t, provider, "client_id"), field(t, provider, "pk"), field(t, provider, "signing_key")
	token := func(p *process, secret string) int {
		req, _ := http.NewRequest(http.MethodPost, p.base+"/application/o/token/",
			strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(clientID, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	t.Run("a key rotated on one replica is published by both within a second", func(t *testing.T) {
		jwks := "/application/o/replicated/jwks/"
		before := kids(t, b.base+jwks) // b caches the set now
		if len(before) != 1 {
			t.Fatalf("JWKS before the rotation: %v, want one key", before)
		}
		rotated := decode(t, admin.send(a, "POST", "crypto/certificatekeypairs/"+keyID+"/rotate/",
			map[string]any{"grace": "hours=1"}, http.StatusOK))
		kid, _ := rotated["kid"].(string)
		if kid == "" {
			t.Fatalf("rotation answered %v, want the new key's kid", rotated)
		}
		took := waitFor(t, "replica b to publish the rotated key", func() bool { return slices.Contains(kids(t, b.base+jwks), kid) })
		t.Logf("replica b published the key rotated on replica a %v after the rotation answered", took)
		if took >= maxPropagation {
			t.Errorf("replica b published the new key %v after the rotation; want under %v", took, maxPropagation)
		}
		if got := kids(t, a.base+jwks); len(got) != 2 || !slices.Contains(got, kid) {
			t.Errorf("replica a's JWKS after its rotation: %v, want the old key and %s", got, kid)
		}
	})

	t.Run("an admin's change on one replica is acted on by the other within a second", func(t *testing.T) {
		// b caches the client with its secret now: its TTL alone would keep
		// the old secret working for five more seconds.
		if got := token(b, "first-secret-0123456789"); got != http.StatusOK {
			t.Fatalf("client_credentials on replica b before the change: %d, want 200", got)
		}
		admin.send(a, "PATCH", "providers/oauth2/"+providerID+"/",
			map[string]any{"client_secret": "second-secret-0123456789"}, http.StatusOK)
		took := waitFor(t, "replica b to refuse the replaced secret", func() bool {
			return token(b, "first-secret-0123456789") == http.StatusUnauthorized
		})
		t.Logf("replica b refused the secret replaced on replica a %v after the change answered", took)
		if took >= maxPropagation {
			t.Errorf("replica b refused the old secret %v after the change; want under %v", took, maxPropagation)
		}
		if got := token(b, "second-secret-0123456789"); got != http.StatusOK {
			t.Errorf("client_credentials on replica b with the new secret: %d, want 200", got)
		}
	})

	t.Run("a user deactivated on one replica is refused by the other within a second", func(t *testing.T) {
		// Users and sessions are read from the database on every request;
		// the one user a replica caches is a client's client_credentials
		// service account, kept with the client.
		const secret = "second-secret-0123456789"
		if got := token(b, secret); got != http.StatusOK {
			t.Fatalf("client_credentials on replica b before the change: %d, want 200", got)
		}
		page := decode(t, admin.send(a, "GET", "core/users/?username=ak-replicated-client_credentials", nil, http.StatusOK))
		results, _ := page["results"].([]any)
		if len(results) != 1 {
			t.Fatalf("the service account: %v, want one user", page)
		}
		account, _ := results[0].(map[string]any)
		admin.send(a, "PATCH", "core/users/"+field(t, account, "pk")+"/", map[string]any{"is_active": false}, http.StatusOK)
		took := waitFor(t, "replica b to refuse the deactivated service account", func() bool {
			return token(b, secret) == http.StatusBadRequest
		})
		t.Logf("replica b refused the service account deactivated on replica a %v after the change answered", took)
		if took >= maxPropagation {
			t.Errorf("replica b refused the deactivated account %v after the change; want under %v", took, maxPropagation)
		}
	})

	t.Run("each schedule runs once across the replicas", func(t *testing.T) {
		runs := regexp.MustCompile(`"msg":"job: scheduled run (?:done|failed)","schedule":"([^"]+)"`)
		count := func() map[string]int {
			n := map[string]int{}
			for _, p := range []*process{a, b} {
				for _, m := range runs.FindAllStringSubmatch(p.logs.String(), -1) {
					n[m[1]]++
				}
			}
			return n
		}
		waitFor(t, "the first run of clean_expired_models", func() bool { return count()["clean_expired_models"] > 0 })
		// Both replicas poll their schedules every second: give the one
		// that lost the race time to run it again, were it to.
		time.Sleep(2 * time.Second)
		got := count()
		if len(got) < 3 {
			t.Errorf("scheduled runs seen: %v, want every built-in schedule (job.retention, clean_expired_models, ...)", got)
		}
		for name, n := range got {
			if n != 1 {
				t.Errorf("schedule %s ran %d times across the two replicas, want once", name, n)
			}
		}
	})
}

// apiClient calls /api/v3/ with an API token.
type apiClient struct {
	t     *testing.T
	token string
}

func (c *apiClient) send(p *process, method, path string, body map[string]any, want int) []byte {
	c.t.Helper()
	return call(c.t, http.DefaultClient, method, p.base+"/api/v3/"+path, body,
		map[string]string{"Authorization": "Bearer " + c.token}, want)
}

// call sends body as JSON (none when nil) and fails the test unless the
// answer has status want.
func call(t *testing.T, c *http.Client, method, u string, body map[string]any, header map[string]string, want int) []byte {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, u, resp.StatusCode, out, want)
	}
	return out
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %s", b)
	}
	return m
}

// field is a string field of an API object, or fails the test.
func field(t *testing.T, m map[string]any, key string) string {
	t.Helper()
	s, _ := m[key].(string)
	if s == "" {
		t.Fatalf("%s is missing from %v", key, m)
	}
	return s
}

// component is a flow challenge's component.
func component(t *testing.T, b []byte) string {
	s, _ := decode(t, b)["component"].(string)
	return s
}

// kids fetches a JWKS and returns its key IDs.
func kids(t *testing.T, u string) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(call(t, http.DefaultClient, http.MethodGet, u, nil, nil, http.StatusOK), &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KID)
	}
	return out
}

// waitFor polls cond every 10 ms for up to ten seconds (far beyond any
// promise, so that a slow propagation is measured rather than cut short)
// and returns how long it took to hold.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}
