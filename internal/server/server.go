// Package server wires Gatehouse's HTTP side: the listeners (HTTP, HTTPS,
// metrics), the one middleware that resolves the tenant and records request
// ID, client IP, logs and metrics, health endpoints, and graceful shutdown.
// Feature packages (web, api, providers) mount their routes on its mux.
//
// Dependencies: prometheus/client_golang for /metrics, the format every
// monitoring stack scrapes; everything else is the standard library.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Handler is implemented by feature packages: they add their routes to mux.
type Handler interface {
	Mount(mux *http.ServeMux)
}

// Options are the server's dependencies.
type Options struct {
	Config *config.Config
	Store  store.Store
	Logger *slog.Logger
	// Handlers mount the product's routes next to health.
	Handlers []Handler
}

// Server serves HTTP(S) and metrics.
type Server struct {
	cfg            *config.Config
	st             store.Store
	log            *slog.Logger
	tenants        *tenantResolver
	metrics        *metrics
	mux            *http.ServeMux
	maxBody        int64
	trustedProxies []netip.Prefix
	ready          func(context.Context) error
}

// New builds the server and its routes; it does not listen yet.
func New(ctx context.Context, o Options) (*Server, error) {
	tr, err := newTenantResolver(ctx, o.Store, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("load tenants: %w", err)
	}
	s := &Server{
		cfg: o.Config, st: o.Store, log: o.Logger, tenants: tr, metrics: newMetrics(),
		mux: http.NewServeMux(), maxBody: o.Config.Web.MaxBodyBytes,
		trustedProxies: o.Config.Listen.TrustedProxyPrefixes(),
	}
	s.ready = o.Store.Ping
	s.warnLinks()
	s.mux.HandleFunc("GET /-/health/live/", s.live)
	s.mux.HandleFunc("GET /-/health/ready/", s.readyz)
	for _, h := range o.Handlers {
		h.Mount(s.mux)
	}
	return s, nil
}

// Handler is the whole HTTP application, for tests and for the listeners.
func (s *Server) Handler() http.Handler { return s.wrap(s.mux) }

// MetricsHandler serves the Prometheus text format (what :9300/metrics
// serves), for tests and embedding.
func (s *Server) MetricsHandler() http.Handler { return s.metrics.handler() }

// Registry lets feature packages register their own metrics.
func (s *Server) Registry() prometheus.Registerer {
	return s.metrics.reg
}

// ReloadTenants makes a tenant or domain change visible at once on this replica.
func (s *Server) ReloadTenants(ctx context.Context) error { return s.tenants.reload(ctx) }

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		s.log.Warn("readiness check failed", "error", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Listeners are bound before Run so that start-up errors (port in use)
// surface synchronously and tests can listen on port 0.
type Listeners struct {
	HTTP, HTTPS, Metrics net.Listener
}

// Listen binds the configured addresses; an empty address is skipped.
func (s *Server) Listen() (*Listeners, error) {
	var l Listeners
	var err error
	bind := func(name, addr string) net.Listener {
		if addr == "" || err != nil {
			return nil
		}
		ln, e := net.Listen("tcp", addr)
		if e != nil {
			err = fmt.Errorf("listen.%s: %w", name, e)
		}
		return ln
	}
	l.HTTP = bind("http", s.cfg.Listen.HTTP)
	l.HTTPS = bind("https", s.cfg.Listen.HTTPS)
	l.Metrics = bind("metrics", s.cfg.Listen.Metrics)
	if err != nil {
		l.Close()
		return nil, err
	}
	return &l, nil
}

// Close releases listeners that were bound but never served.
func (l *Listeners) Close() {
	for _, ln := range []net.Listener{l.HTTP, l.HTTPS, l.Metrics} {
		if ln != nil {
			ln.Close()
		}
	}
}

// Run serves until ctx is cancelled, then shuts down gracefully: listeners
// stop accepting, in-flight requests get up to grace to finish.
func (s *Server) Run(ctx context.Context, l *Listeners, grace time.Duration) error {
	// The certificate comes first: failing after the HTTP server had started
	// would leave it serving after Run returned.
	var cert tls.Certificate
	var selfSigned bool
	if l.HTTPS != nil {
		var err error
		if cert, selfSigned, err = loadOrCreateCertificate(s.cfg.TLS.Certificate, s.cfg.TLS.Key, s.cfg.DataDir); err != nil {
			l.Close()
			return err
		}
	}
	go s.tenants.refreshLoop(ctx, 30*time.Second)
	w := s.cfg.Web
	mk := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler: h, ReadHeaderTimeout: w.TimeoutHTTPReadHeader, ReadTimeout: w.TimeoutHTTPRead,
			WriteTimeout: w.TimeoutHTTPWrite, IdleTimeout: w.TimeoutHTTPIdle, MaxHeaderBytes: 64 << 10,
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
	}
	app := s.Handler()
	var servers []*http.Server
	errc := make(chan error, 3)
	var wg sync.WaitGroup
	start := func(srv *http.Server, ln net.Listener, serve func(*http.Server, net.Listener) error) {
		servers = append(servers, srv)
		wg.Go(func() {
			if err := serve(srv, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		})
	}
	plain := func(srv *http.Server, ln net.Listener) error { return srv.Serve(ln) }
	if l.HTTP != nil {
		start(mk(app), l.HTTP, plain)
		s.log.Info("listening", "listener", "http", "address", l.HTTP.Addr().String())
	}
	if l.HTTPS != nil {
		srv := mk(app)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		start(srv, l.HTTPS, func(srv *http.Server, ln net.Listener) error { return srv.ServeTLS(ln, "", "") })
		s.log.Info("listening", "listener", "https", "address", l.HTTPS.Addr().String(), "self_signed", selfSigned)
	}
	if l.Metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.metrics.handler())
		start(mk(mux), l.Metrics, plain)
		s.log.Info("listening", "listener", "metrics", "address", l.Metrics.Addr().String())
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.log.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, srv := range servers {
		if srv.Shutdown(sctx) != nil {
			// Grace is over: cut the requests still running, so none
			// outlives Run and the store it uses.
			srv.Close()
		}
	}
	wg.Wait()
	return err
}
