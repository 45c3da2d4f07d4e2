package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// discard is a ResponseWriter that keeps nothing, so the benchmark measures
// rendering, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// Target: under 50 µs per identification page.
func BenchmarkIdentification(b *testing.B) {
	r := newTestRenderer(b)
	c := &flow.IdentificationChallenge{Base: base(flow.ComponentIdentification), UserFields: []string{"email", "username"},
		PasswordFields: true, PrimaryAction: "Log in", EnrollURL: "/if/flow/default-enrollment-flow/",
		RecoveryURL: "/if/flow/default-recovery-flow/"}
	req := httptest.NewRequest(http.MethodGet, "/if/flow/default-authentication-flow/?next=%2Fapplication%2Fo%2Fauthorize%2F", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := &discard{h: http.Header{}}
		r.Challenge(w, req, i18n.ZhHans, http.StatusOK, c)
	}
}
