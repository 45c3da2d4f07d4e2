package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		// RFC 6749 §2.3.1: client credentials are form-encoded inside Basic.
		p, _ = url.QueryUnescape(p)
		if r.Method != http.MethodPost || u != "id" || p != "s:ecret" || r.FormValue("grant_type") != "client_credentials" {
			http.Error(w, "bad", http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	var out bytes.Buffer
	o := options{url: srv.URL, form: "grant_type=client_credentials", basic: "id:s:ecret", duration: 200 * time.Millisecond, conc: 2}
	if err := run(o, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "0 failed") || !strings.Contains(out.String(), "requests/s") {
		t.Errorf("output:\n%s", out.String())
	}
	o.basic = "id:wrong"
	if err := run(o, &out); err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Errorf("wrong credentials: %v, want the probe to fail with 401", err)
	}
	for _, bad := range []options{{url: "ftp://x", duration: time.Second, conc: 1}, {url: srv.URL, conc: 0, duration: time.Second},
		{url: srv.URL, basic: "nocolon", conc: 1, duration: time.Second}} {
		if err := run(bad, &out); err == nil {
			t.Errorf("run(%+v) accepted bad options", bad)
		}
	}
}
