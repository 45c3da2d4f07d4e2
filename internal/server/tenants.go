package server

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// tenantResolver maps a request's Host to a tenant without touching the
// database per request: the domain table is small, so it is held in memory
// whole and reloaded periodically (and at once after a local change). Hosts
// are attacker-controlled, so nothing is cached per host.
type tenantResolver struct {
	st  store.Store
	log *slog.Logger

	snap atomic.Pointer[tenantSnapshot]
	mu   sync.Mutex // serializes reloads
}

type tenantSnapshot struct {
	byDomain map[string]*store.Tenant
	byID     map[string]*store.Tenant
	def      *store.Tenant
}

func newTenantResolver(ctx context.Context, st store.Store, log *slog.Logger) (*tenantResolver, error) {
	r := &tenantResolver{st: st, log: log}
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *tenantResolver) reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	def, err := r.st.Tenants().EnsureDefault(ctx)
	if err != nil {
		return err
	}
	list, err := r.st.Tenants().List(ctx)
	if err != nil {
		return err
	}
	s := &tenantSnapshot{byDomain: map[string]*store.Tenant{}, byID: map[string]*store.Tenant{}, def: def}
	for _, t := range list {
		s.byID[t.ID.String()] = t
		for _, d := range t.Domains {
			s.byDomain[d] = t
		}
		if t.Default {
			s.def = t
		}
	}
	r.snap.Store(s)
	return nil
}

// refreshLoop reloads the snapshot until ctx ends, so domains added on
// another replica take effect here within interval.
func (r *tenantResolver) refreshLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.reload(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("tenant reload failed", "error", err)
			}
		}
	}
}

// resolve returns the tenant for host (lower-case, no port): an exact
// domain match, else the default tenant, as Authentik's DefaultTenantMiddleware.
func (r *tenantResolver) resolve(host string) *store.Tenant {
	s := r.snap.Load()
	if t, ok := s.byDomain[host]; ok {
		return t
	}
	return s.def
}

// isDomain reports whether host (lower-case, no port) is a domain of some
// tenant, exactly as written there.
func (r *tenantResolver) isDomain(host string) bool {
	_, ok := r.snap.Load().byDomain[host]
	return ok
}

// hostOnly strips the port and lower-cases a Host header value.
func hostOnly(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.ToLower(strings.Trim(h, "[]"))
}
