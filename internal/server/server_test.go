package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

const testMaxBody = 1024

// probe is a test Handler: it echoes what the middleware learnt about the
// request, reads bodies, panics and waits on demand, and counts its calls.
type probe struct {
	calls     atomic.Int64
	uploadErr chan error // what reading /upload's body returned
	slowIn    chan struct{}
	slowGo    chan struct{}
}

func newProbe() *probe {
	return &probe{uploadErr: make(chan error, 8), slowIn: make(chan struct{}, 8), slowGo: make(chan struct{})}
}

type echo struct {
	RequestID string `json:"request_id"`
	ClientIP  string `json:"client_ip"`
	Secure    bool   `json:"secure"`
	Host      string `json:"host"`
	Tenant    string `json:"tenant"`
	TenantID  string `json:"tenant_id"`
}

func (p *probe) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		i := httpx.From(r.Context())
		e := echo{RequestID: i.RequestID, ClientIP: i.ClientIP, Secure: i.Secure, Host: i.Host}
		if i.Tenant != nil {
			e.Tenant, e.TenantID = i.Tenant.Name, i.Tenant.ID.String()
		}
		httpx.WriteJSON(w, http.StatusOK, e)
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		n, err := io.Copy(io.Discard, r.Body)
		p.uploadErr <- err
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusRequestEntityTooLarge})
			return
		}
		if n > testMaxBody {
			http.Error(w, "read more than the limit", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		panic("handler bug")
	})
	mux.HandleFunc("GET /panic-late", func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		w.Write([]byte(`{"partial":`))
		w.(http.Flusher).Flush()
		panic("handler bug after the status line")
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		p.slowIn <- struct{}{}
		<-p.slowGo
		io.WriteString(w, "finished")
	})
}

type fixture struct {
	s     *Server
	db    *sqlstore.DB
	cfg   *config.Config
	probe *probe
	logs  *syncBuffer
}

// syncBuffer is a bytes.Buffer that server goroutines may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// openStore opens a fresh migrated SQLite database in t's temp dir.
func openStore(t *testing.T) *sqlstore.DB {
	t.Helper()
	db := sqlitetest.Open(t)
	return db
}

// newFixture builds a server on a real SQLite store. edit may change the
// configuration and add tenants before the server loads them.
func newFixture(t *testing.T, edit func(*config.Config, *sqlstore.DB)) *fixture {
	t.Helper()
	db := openStore(t)
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Web.MaxBodyBytes = testMaxBody
	cfg.Listen.TrustedProxyCIDRs = []string{"10.0.0.0/8", "fd00::/8"}
	if edit != nil {
		edit(cfg, db)
	}
	logs := &syncBuffer{}
	p := newProbe()
	s, err := New(t.Context(), Options{Config: cfg, Store: db, Handlers: []Handler{p},
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, db: db, cfg: cfg, probe: p, logs: logs}
}

// do serves one request in-process and returns the recorded response.
func (f *fixture) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(w, r)
	return w
}

func (f *fixture) echo(t *testing.T, r *http.Request) echo {
	t.Helper()
	w := f.do(r)
	if w.Code != http.StatusOK {
		t.Fatalf("GET /echo = %d %s; want 200", w.Code, w.Body)
	}
	var e echo
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("echo body %q: %v", w.Body, err)
	}
	return e
}

func TestHealth(t *testing.T) {
	f := newFixture(t, nil)
	for _, path := range []string{"/-/health/live/", "/-/health/ready/"} {
		if w := f.do(httptest.NewRequest("GET", path, nil)); w.Code != http.StatusNoContent {
			t.Errorf("GET %s = %d %q; want 204", path, w.Code, w.Body)
		}
	}

	f.db.Close()
	if w := f.do(httptest.NewRequest("GET", "/-/health/ready/", nil)); w.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /-/health/ready/ with the store closed = %d; want 503", w.Code)
	}
	if w := f.do(httptest.NewRequest("GET", "/-/health/live/", nil)); w.Code != http.StatusNoContent {
		t.Errorf("GET /-/health/live/ with the store closed = %d; want 204: liveness must not depend on the database", w.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, nil)
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "same-origin",
	}
	for _, path := range []string{"/-/health/live/", "/echo", "/no/such/page"} {
		w := f.do(httptest.NewRequest("GET", path, nil))
		for k, v := range want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("GET %s: %s = %q; want %q", path, k, got, v)
			}
		}
		if got := w.Header().Get("Strict-Transport-Security"); got != "" {
			t.Errorf("GET %s over plain HTTP: Strict-Transport-Security = %q; want none", path, got)
		}
	}

	r := httptest.NewRequest("GET", "https://example.com/echo", nil) // sets r.TLS
	if got := f.do(r).Header().Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("GET over TLS: Strict-Transport-Security = %q; want max-age=...", got)
	}
}

func TestRequestIDIsSetAndUnique(t *testing.T) {
	f := newFixture(t, nil)
	seen := map[string]bool{}
	for range 50 {
		r := httptest.NewRequest("GET", "/echo", nil)
		r.Header.Set("X-Request-Id", "client-chosen") // never believed
		w := f.do(r)
		id := w.Header().Get("X-Request-Id")
		if id == "" || id == "client-chosen" {
			t.Fatalf("X-Request-Id = %q; want a fresh server-made ID", id)
		}
		if seen[id] {
			t.Fatalf("X-Request-Id %q repeated", id)
		}
		seen[id] = true
		var e echo
		json.Unmarshal(w.Body.Bytes(), &e)
		if e.RequestID != id {
			t.Fatalf("handler saw request ID %q, response header says %q", e.RequestID, id)
		}
	}
}

func TestTenantByHost(t *testing.T) {
	var acme *store.Tenant
	f := newFixture(t, func(_ *config.Config, db *sqlstore.DB) {
		acme = &store.Tenant{Name: "Acme", Domains: []string{"id.acme.test"}}
		if err := db.Tenants().Create(context.Background(), acme); err != nil {
			t.Fatal(err)
		}
	})
	def, err := f.db.Tenants().EnsureDefault(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host, wantTenant, wantHost string
	}{
		{"unknown.example", def.ID.String(), "unknown.example"},
		{"127.0.0.1:9000", def.ID.String(), "127.0.0.1"},
		{"id.acme.test", acme.ID.String(), "id.acme.test"},
		{"id.acme.test:9443", acme.ID.String(), "id.acme.test"},
		{"ID.Acme.TEST", acme.ID.String(), "id.acme.test"},
		{"ID.ACME.test:8080", acme.ID.String(), "id.acme.test"},
		{"acme.test", def.ID.String(), "acme.test"}, // no suffix matching
		{"[::1]:9000", def.ID.String(), "::1"},
	} {
		r := httptest.NewRequest("GET", "/echo", nil)
		r.Host = tc.host
		e := f.echo(t, r)
		if e.TenantID != tc.wantTenant {
			t.Errorf("Host %q: tenant %q (%s); want %s", tc.host, e.Tenant, e.TenantID, tc.wantTenant)
		}
		if e.Host != tc.wantHost {
			t.Errorf("Host %q: Info.Host = %q; want %q", tc.host, e.Host, tc.wantHost)
		}
	}

	// A domain added later is seen after a reload, without a restart.
	if err := f.db.Tenants().AddDomain(t.Context(), acme.ID, "login.acme.test"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.ReloadTenants(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/echo", nil)
	r.Host = "login.acme.test"
	if e := f.echo(t, r); e.TenantID != acme.ID.String() {
		t.Errorf("after AddDomain and ReloadTenants, login.acme.test resolved to %q; want Acme", e.Tenant)
	}
}

// decodeProblem checks a problem+json response and returns its document.
func decodeProblem(t *testing.T, what string, status int, header http.Header, body []byte) httpx.Problem {
	t.Helper()
	if ct := header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q; want application/problem+json", what, ct)
	}
	var p httpx.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", what, body, err)
	}
	if p.Status != status {
		t.Errorf("%s: problem status %d; want %d", what, p.Status, status)
	}
	if p.RequestID == "" || p.RequestID != header.Get("X-Request-Id") {
		t.Errorf("%s: problem request_id %q, X-Request-Id %q; want equal and not empty", what, p.RequestID, header.Get("X-Request-Id"))
	}
	return p
}

func TestBodyLimitWithContentLength(t *testing.T) {
	f := newFixture(t, nil)
	w := f.do(httptest.NewRequest("POST", "/upload", strings.NewReader(strings.Repeat("x", testMaxBody+1))))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST of %d bytes with a %d-byte limit = %d; want 413", testMaxBody+1, testMaxBody, w.Code)
	}
	decodeProblem(t, "413", http.StatusRequestEntityTooLarge, w.Header(), w.Body.Bytes())
	if n := f.probe.calls.Load(); n != 0 {
		t.Errorf("the handler ran %d times for a body over the limit; want never", n)
	}

	w = f.do(httptest.NewRequest("POST", "/upload", strings.NewReader(strings.Repeat("x", testMaxBody))))
	if w.Code != http.StatusNoContent {
		t.Errorf("POST of exactly the limit = %d %q; want 204", w.Code, w.Body)
	}
}

func TestBodyLimitChunked(t *testing.T) {
	f := newFixture(t, nil)
	ts := httptest.NewServer(f.s.Handler())
	defer ts.Close()

	// An io.MultiReader has no known length, so the client sends it
	// chunked, without Content-Length: only MaxBytesReader can stop it.
	body := io.MultiReader(strings.NewReader(strings.Repeat("x", testMaxBody)), strings.NewReader(strings.Repeat("y", 64<<10)))
	req, _ := http.NewRequestWithContext(t.Context(), "POST", ts.URL+"/upload", body)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if len(req.TransferEncoding) == 0 && req.ContentLength > 0 {
		t.Fatalf("request was sent with Content-Length %d; the test needs a chunked body", req.ContentLength)
	}
	select {
	case err := <-f.probe.uploadErr:
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			t.Errorf("the handler's read of an oversized chunked body returned %v; want *http.MaxBytesError", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler never read the body")
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized chunked POST = %d; want 413", resp.StatusCode)
	}
	// net/http must learn that the limit was hit, so it closes the
	// connection instead of draining the rest of the body.
	if !resp.Close {
		t.Error("response to an oversized chunked body keeps the connection open; want Connection: close")
	}
}

func TestPanicBecomes500(t *testing.T) {
	f := newFixture(t, nil)
	ts := httptest.NewServer(f.s.Handler())
	defer ts.Close()

	resp, err := ts.Client().Get(ts.URL + "/panic")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("GET /panic = %d; want 500", resp.StatusCode)
	}
	p := decodeProblem(t, "panic", http.StatusInternalServerError, resp.Header, body)
	if strings.Contains(string(body), "handler bug") {
		t.Errorf("500 body %q leaks the panic value", body)
	}
	if !strings.Contains(f.logs.String(), p.RequestID) || !strings.Contains(f.logs.String(), "handler bug") {
		t.Errorf("log does not record the panic with request ID %s:\n%s", p.RequestID, f.logs)
	}

	// The process, and the connection pool, survive.
	resp, err = ts.Client().Get(ts.URL + "/-/health/live/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("GET after a panic = %d; want 204", resp.StatusCode)
	}
}

func TestPanicAfterHeadersAbortsTheResponse(t *testing.T) {
	f := newFixture(t, nil)
	ts := httptest.NewServer(f.s.Handler())
	defer ts.Close()

	resp, err := ts.Client().Get(ts.URL + "/panic-late")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	// The status line (200) is already out; what must not happen is a
	// truncated body that the client takes for a complete one.
	if err == nil {
		t.Fatalf("a handler that panicked mid-response produced a complete-looking response; want the connection aborted")
	}
	// The next request, on a new connection, works.
	if resp, _ := get(t, ts.Client(), ts.URL+"/-/health/live/"); resp.StatusCode != http.StatusNoContent {
		t.Errorf("GET after an aborted response = %d; want 204", resp.StatusCode)
	}
}

func TestClientAddressAndForwardedHeaders(t *testing.T) {
	f := newFixture(t, nil) // trusts 10.0.0.0/8 and fd00::/8
	for _, tc := range []struct {
		name, remote, xff, proto string
		wantIP                   string
		wantSecure               bool
	}{
		{"direct client", "198.51.100.7:51000", "", "", "198.51.100.7", false},
		{"untrusted peer spoofs XFF and proto", "198.51.100.7:51000", "1.2.3.4", "https", "198.51.100.7", false},
		{"untrusted loopback is not trusted by default here", "127.0.0.1:51000", "1.2.3.4", "", "127.0.0.1", false},
		{"trusted proxy, one hop", "10.0.0.2:40000", "203.0.113.9", "https", "203.0.113.9", true},
		{"trusted proxy, client forged the left of XFF", "10.0.0.2:40000", "6.6.6.6, 203.0.113.9", "http", "203.0.113.9", false},
		{"two trusted proxies", "10.0.0.2:40000", "6.6.6.6, 203.0.113.9, 10.9.9.9", "https", "203.0.113.9", true},
		{"XFF over several header lines", "10.0.0.2:40000", "6.6.6.6\n203.0.113.9", "", "203.0.113.9", false},
		{"trusted proxy without XFF", "10.0.0.2:40000", "", "", "10.0.0.2", false},
		{"trusted proxy, garbage XFF", "10.0.0.2:40000", "not-an-ip", "", "10.0.0.2", false},
		{"IPv6 trusted proxy", "[fd00::1]:40000", "2001:db8::5", "https", "2001:db8::5", true},
		{"IPv4-mapped trusted proxy", "[::ffff:10.0.0.2]:40000", "203.0.113.9", "", "203.0.113.9", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/echo", nil)
			r.RemoteAddr = tc.remote
			for _, v := range strings.Split(tc.xff, "\n") {
				if v != "" {
					r.Header.Add("X-Forwarded-For", v)
				}
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			w := f.do(r)
			var e echo
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatal(err)
			}
			if e.ClientIP != tc.wantIP || e.Secure != tc.wantSecure {
				t.Errorf("peer %s, XFF %q, proto %q: client %s secure %v; want %s secure %v",
					tc.remote, tc.xff, tc.proto, e.ClientIP, e.Secure, tc.wantIP, tc.wantSecure)
			}
			if hsts := w.Header().Get("Strict-Transport-Security") != ""; hsts != tc.wantSecure {
				t.Errorf("HSTS sent = %v; want %v (only when the client used TLS)", hsts, tc.wantSecure)
			}
		})
	}
}

func TestMetricsUseRouteTemplates(t *testing.T) {
	f := newFixture(t, nil)
	h := f.s.Handler()
	for _, path := range []string{"/-/health/live/", "/-/health/live/", "/secret/abc123", "/echo?token=abc123"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	// Any token is a valid method to net/http; labels must stay bounded.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREWCOFFEE", "/x", nil))

	w := httptest.NewRecorder()
	f.s.metrics.handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	out := w.Body.String()
	for _, want := range []string{
		`gatehouse_http_requests_total{code="204",method="GET",route="/-/health/live/"} 2`,
		`gatehouse_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`gatehouse_http_requests_total{code="200",method="GET",route="/echo"} 1`,
		`gatehouse_http_requests_total{code="404",method="other",route="unmatched"} 1`,
		`gatehouse_http_request_duration_seconds_bucket{method="GET",route="/-/health/live/"`,
		`gatehouse_http_requests_in_flight 0`,
		`gatehouse_build_info{`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(out, "abc123") {
		t.Errorf("metrics contain the raw path or query value abc123:\n%s", grep(out, "abc123"))
	}
	if strings.Contains(f.logs.String(), "abc123") {
		t.Errorf("request log contains the raw path or query value abc123:\n%s", grep(f.logs.String(), "abc123"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// run starts Run on 127.0.0.1:0 listeners and returns their base URLs and
// a channel that receives Run's result.
func run(t *testing.T, f *fixture, ctx context.Context, withTLS bool, grace time.Duration) (httpURL, httpsURL, metricsURL string, done chan error) {
	t.Helper()
	f.cfg.Listen.HTTP, f.cfg.Listen.Metrics, f.cfg.Listen.HTTPS = "127.0.0.1:0", "127.0.0.1:0", ""
	if withTLS {
		f.cfg.Listen.HTTPS = "127.0.0.1:0"
	}
	ls, err := f.s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done = make(chan error, 1)
	go func() { done <- f.s.Run(ctx, ls, grace) }()
	httpURL, metricsURL = "http://"+ls.HTTP.Addr().String(), "http://"+ls.Metrics.Addr().String()
	if withTLS {
		httpsURL = "https://" + ls.HTTPS.Addr().String()
	}
	return httpURL, httpsURL, metricsURL, done
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRunServesAndShutsDownGracefully(t *testing.T) {
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	httpURL, httpsURL, metricsURL, done := run(t, f, ctx, true, 5*time.Second)

	c := &http.Client{Timeout: 10 * time.Second}
	if resp, _ := get(t, c, httpURL+"/-/health/ready/"); resp.StatusCode != http.StatusNoContent {
		t.Errorf("GET /-/health/ready/ over HTTP = %d; want 204", resp.StatusCode)
	}
	get(t, c, httpURL+"/secret/abc123")

	// HTTPS with the self-signed certificate kept in the data dir.
	tc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	resp, _ := get(t, tc, httpsURL+"/echo")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("GET /echo over HTTPS = %d, HSTS %q; want 200 with HSTS", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	if _, err := os.Stat(filepath.Join(f.cfg.DataDir, "certs", "self-signed.crt")); err != nil {
		t.Errorf("self-signed certificate not kept in the data dir: %v", err)
	}

	resp, body := get(t, c, metricsURL+"/metrics")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `route="/-/health/ready/"`) || strings.Contains(body, "abc123") {
		t.Errorf("metrics listener: %d; want 200 with route=\"/-/health/ready/\" and no abc123", resp.StatusCode)
	}

	// A slow request is in flight when the context ends.
	slow := make(chan string, 1)
	go func() {
		resp, err := c.Get(httpURL + "/slow")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	select {
	case <-f.probe.slowIn:
	case <-time.After(5 * time.Second):
		t.Fatal("slow request never reached the handler")
	}
	cancel()

	// Run waits for the request; new connections are refused meanwhile.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(httpURL, "http://"), time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the HTTP listener still accepts connections after cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(f.probe.slowGo)
	if got := <-slow; got != "finished" {
		t.Errorf("in-flight request during shutdown got %q; want it to finish", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v; want nil after a graceful shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
}

func TestRunCutsRequestsThatOutlastTheGrace(t *testing.T) {
	f := newFixture(t, nil)
	defer close(f.probe.slowGo) // lets the stuck handler return at the end
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	httpURL, _, _, done := run(t, f, ctx, false, 200*time.Millisecond)

	slow := make(chan error, 1)
	go func() {
		resp, err := http.Get(httpURL + "/slow")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		slow <- err
	}()
	<-f.probe.slowIn
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return once the grace period was over")
	}
	select {
	case err := <-slow:
		if err == nil {
			t.Error("a request still running after the grace period got a complete response")
		}
	case <-time.After(5 * time.Second):
		t.Error("a request still running after the grace period was not cut off")
	}
}

func TestRunWithBadCertificateStartsNothing(t *testing.T) {
	f := newFixture(t, nil)
	f.cfg.TLS.Certificate = filepath.Join(t.TempDir(), "missing.crt")
	f.cfg.TLS.Key = filepath.Join(t.TempDir(), "missing.key")
	httpURL, _, _, done := run(t, f, t.Context(), true, 5*time.Second)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "tls.certificate") {
			t.Errorf("Run with a missing certificate = %v; want an error naming tls.certificate", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run with a missing certificate did not return")
	}
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(httpURL, "http://"), time.Second); err == nil {
		conn.Close()
		t.Error("after Run failed, the HTTP listener still accepts connections")
	}
}

func TestListenReportsTheListener(t *testing.T) {
	f := newFixture(t, nil)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	f.cfg.Listen.HTTP, f.cfg.Listen.HTTPS, f.cfg.Listen.Metrics = "127.0.0.1:0", "", busy.Addr().String()
	if _, err := f.s.Listen(); err == nil || !strings.HasPrefix(err.Error(), "listen.metrics: ") {
		t.Errorf("Listen on a busy metrics port = %v; want an error starting with listen.metrics", err)
	}
}

// insecureTLS accepts the server's self-signed certificate.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }
