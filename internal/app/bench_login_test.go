package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-id/gatehouse/internal/crypto/password"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// BenchmarkPasswordLogin measures a whole password login through the JSON
// flow executor (identification, password, user_login of
// default-authentication-flow: two HTTP requests, one argon2id
// verification, the session and audit writes) against the floor of that
// login, one argon2id verification with the server's parameters. Quote
// the ratio of the two in the same run:
//
//	logins/s ÷ verifications/s = verify ns/op ÷ login ns/op
//
// Requests go straight to the application's handler (httptest recorder,
// no sockets), so the number is the server's own cost.
//
//	go test ./internal/app/ -run XXX -bench PasswordLogin -benchtime 5s
//
// The parallel sub-benchmarks (GOMAXPROCS goroutines) give throughput,
// the -seq ones the latency of one login; cpu-ns/op is the process's CPU
// time per operation, which other load on the machine does not inflate.
// The interleaved ones alternate a login and a verification and report
// their ratio directly; prefer them on a machine shared with other work.
func BenchmarkPasswordLogin(b *testing.B) {
	e := newEnv(b)
	h := e.app.Handler()
	const pw = "Bench-Password-2024"
	// Several users, so parallel logins do not all queue on one row.
	users := make([]string, 32)
	for i := range users {
		users[i] = fmt.Sprintf("bench%02d", i)
		e.createUser(users[i], pw, store.UserInternal)
	}
	var next atomic.Uint64
	login := func() error {
		return benchLogin(h, users[next.Add(1)%uint64(len(users))], pw)
	}
	// The floor: the server's own hasher (same parameters, same bound on
	// concurrent hashing) verifying a hash it wrote.
	hasher := e.app.Core().Hasher
	encoded, err := hasher.Hash(context.Background(), pw)
	if err != nil {
		b.Fatal(err)
	}
	verify := func() error {
		ok, _, err := hasher.Verify(context.Background(), pw, encoded)
		if err != nil || !ok {
			return fmt.Errorf("verify: ok=%v err=%v", ok, err)
		}
		return nil
	}
	// The bare derivation, without parsing or the concurrency bound.
	p := password.DefaultParams
	salt := bytes.Repeat([]byte{7}, int(p.SaltLen))
	derive := func() error {
		argon2.IDKey([]byte(pw), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
		return nil
	}

	for _, c := range []struct {
		name string
		fn   func() error
	}{{"login", login}, {"verify", verify}, {"argon2id", derive}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime()
			// FailNow may not be called from RunParallel's goroutines.
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.fn(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
		b.Run(c.name+"-seq", func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime()
			for range b.N {
				if err := c.fn(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
	// On a shared machine the load changes between sub-benchmarks; logins
	// and verifications taken in turn see the same load, so their ratio
	// holds even when the absolute numbers do not. The order alternates,
	// so that neither always runs right after the other (on a busy
	// machine that position alone changes the result).
	interleaved := func(b *testing.B, parallel bool) {
		var tl, tv atomic.Int64
		var turn atomic.Uint64
		timed := func(fn func() error, sum *atomic.Int64) error {
			t := time.Now()
			err := fn()
			sum.Add(int64(time.Since(t)))
			return err
		}
		step := func() error {
			if turn.Add(1)%2 == 0 {
				return errors.Join(timed(login, &tl), timed(verify, &tv))
			}
			return errors.Join(timed(verify, &tv), timed(login, &tl))
		}
		if parallel {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := step(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		} else {
			for range b.N {
				if err := step(); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(tl.Load())/float64(b.N), "login-ns/op")
		b.ReportMetric(float64(tv.Load())/float64(b.N), "verify-ns/op")
		b.ReportMetric(float64(tv.Load())/float64(tl.Load()), "logins/verifications")
	}
	b.Run("interleaved", func(b *testing.B) { interleaved(b, true) })
	b.Run("interleaved-seq", func(b *testing.B) { interleaved(b, false) })
}

// cpuTime is the CPU time (user and system) this process has used: unlike
// wall time, it does not grow when other processes load the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchLogin runs default-authentication-flow for one user in a fresh
// cookie-less client, as a native app would: post the identifier, then
// the password, and expect the final redirect.
func benchLogin(h http.Handler, username, pw string) error {
	const path = "/api/v3/flows/executor/default-authentication-flow/"
	post := func(body string, cookie *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := post(`{"uid_field":"`+username+`"}`, nil)
	if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"ak-stage-password"`)) {
		return fmt.Errorf("identification: %d %s", w.Code, w.Body)
	}
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == session.CookieName {
			cookie = c
		}
	}
	if cookie == nil {
		return fmt.Errorf("identification: no session cookie")
	}
	w = post(`{"password":"`+pw+`"}`, cookie)
	if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"xak-flow-redirect"`)) {
		return fmt.Errorf("password: %d %s", w.Code, w.Body)
	}
	return nil
}
