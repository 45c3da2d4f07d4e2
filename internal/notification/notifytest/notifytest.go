// Package notifytest is a webhook receiver for tests: it records what
// Gatehouse posts, answers with scripted statuses, and checks signatures
// the way docs/notifications.md tells receivers to.
package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one POST the receiver got, and the status it answered.
type Request struct {
	Header http.Header
	Body   []byte
	Status int
}

// Receiver is a webhook endpoint on an httptest server.
type Receiver struct {
	URL string

	mu       sync.Mutex
	statuses []int
	got      []Request
	arrived  chan struct{}
}

// Start runs a receiver that answers the first requests with statuses, in
// order, and every later one with 200.
func Start(t testing.TB, statuses ...int) *Receiver {
	r := &Receiver{statuses: statuses, arrived: make(chan struct{}, 1000)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.got = append(r.got, Request{Header: req.Header.Clone(), Body: body, Status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
		r.arrived <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hook"
	return r
}

// Requests returns every request so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.got...)
}

// Delivered returns the requests answered with a 2xx status.
func (r *Receiver) Delivered() []Request {
	var out []Request
	for _, q := range r.Requests() {
		if q.Status/100 == 2 {
			out = append(out, q)
		}
	}
	return out
}

// Wait blocks until n requests have arrived, failing the test after d.
func (r *Receiver) Wait(t testing.TB, n int, d time.Duration) []Request {
	t.Helper()
	deadline := time.After(d)
	for len(r.Requests()) < n {
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("webhook receiver: %d requests after %s, want %d", len(r.Requests()), d, n)
		}
	}
	return r.Requests()
}

// Verify checks a request's X-Gatehouse-Signature as a receiver should:
// HMAC-SHA256 over "<X-Gatehouse-Timestamp>.<body>", compared in constant
// time, and a timestamp no more than maxAge from now.
func Verify(secret string, h http.Header, body []byte, now time.Time, maxAge time.Duration) error {
	ts := h.Get("X-Gatehouse-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("no timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxAge || d < -maxAge {
		return errors.New("timestamp too old or in the future")
	}
	got, ok := strings.CutPrefix(h.Get("X-Gatehouse-Signature"), "sha256=")
	if !ok {
		return errors.New("no sha256 signature")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(got), []byte(want)) {
		return errors.New("signature does not match")
	}
	return nil
}
