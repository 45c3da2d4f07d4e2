package server

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
)

// wrap is the one place cross-cutting request work happens. It calls
// WithContext once, before the mux, so that the *http.Request the mux
// routes is the one we hold: the mux writes the matched pattern into it,
// which gives logs and metrics a bounded route label.
func (s *Server) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		abort := false
		info := &httpx.Info{Origin: reqinfo.Origin{RequestID: rand.Text(), Method: r.Method, Path: r.URL.Path,
			UserAgent: truncate(r.UserAgent(), 512)}, Host: hostOnly(r.Host)}
		info.ClientIP, info.Secure = s.clientAddr(r)
		info.Tenant = s.tenants.resolve(info.Host)
		s.setLinkBases(r, info)
		r = r.WithContext(httpx.WithInfo(r.Context(), info))

		sw := &statusWriter{ResponseWriter: w}
		h := sw.Header()
		h.Set("X-Request-Id", info.RequestID)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if info.Secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.ContentLength > s.maxBody {
			httpx.WriteProblem(sw, r, httpx.Problem{Status: http.StatusRequestEntityTooLarge,
				Detail: fmt.Sprintf("request body larger than %d bytes", s.maxBody)})
		} else {
			// The MaxBytesReader gets the server's own writer, not sw: only
			// that one can tell net/http to close the connection instead
			// of draining the rest of an oversized body.
			r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
			s.metrics.inflight.Inc()
			abort = s.serve(next, sw, r)
			s.metrics.inflight.Dec()
		}

		route := routeLabel(r.Pattern)
		method := methodLabel(r.Method)
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(route, method, fmt.Sprint(sw.code())).Inc()
		s.metrics.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if strings.HasPrefix(route, "/-/health/") {
			level = slog.LevelDebug
		}
		// The raw path and query are not logged: they can hold codes and
		// tokens. The route template says what was called.
		s.log.LogAttrs(r.Context(), level, "request",
			slog.String("request_id", info.RequestID), slog.String("method", r.Method),
			slog.String("route", route), slog.Int("status", sw.code()),
			slog.Duration("duration", elapsed), slog.String("client_ip", info.ClientIP),
			slog.String("host", info.Host), slog.Int64("bytes", sw.written))
		if abort {
			// net/http closes the connection without ending the response,
			// so the client sees a broken reply, never a truncated one that
			// looks complete.
			panic(http.ErrAbortHandler)
		}
	})
}

// serve runs next and turns a panic into a 500 with the request ID, so one
// bad request never takes the process down. It reports abort when the
// connection must be dropped instead: the handler panicked after the status
// line went out (or panicked with http.ErrAbortHandler), so no error can be
// sent any more.
func (s *Server) serve(next http.Handler, w *statusWriter, r *http.Request) (abort bool) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				abort = true
				return
			}
			s.log.Error("panic serving request", "request_id", httpx.From(r.Context()).RequestID,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if w.wroteHeader {
				abort = true
				return
			}
			httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusInternalServerError})
		}
	}()
	next.ServeHTTP(w, r)
	return false
}

// clientAddr returns the client IP and whether the client used TLS. The
// forwarded headers are believed only from a trusted proxy, and then the
// rightmost address that is not itself a trusted proxy is the client.
func (s *Server) clientAddr(r *http.Request) (string, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	secure := r.TLS != nil
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host, secure
	}
	if proto := r.Header.Get("X-Forwarded-Proto"); proto != "" {
		secure = strings.EqualFold(proto, "https")
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.Unmap().String(), secure
		}
		peer = a
	}
	return peer.Unmap().String(), secure
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// statusWriter records the status and size for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status      int
	written     int64
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// truncate bounds a client-supplied string kept in events.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
