package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Tenant is Authentik's tenants/tenants/ (an enterprise feature there),
// with the domains that route to it and its event retention.
type Tenant struct {
	TenantUUID     uuid.UUID `json:"tenant_uuid"`
	Name           string    `json:"name"`
	Default        bool      `json:"default"`
	Domains        []string  `json:"domains" doc:"hostnames that reach this tenant"`
	EventRetention string    `json:"event_retention" doc:"how long new events are kept, e.g. days=365"`
}

func (t Tenant) Meta() Meta { return Meta{ID: t.TenantUUID, Name: t.Name} }

// TenantRequest creates a tenant.
type TenantRequest struct {
	Name           *string   `json:"name"`
	Domains        *[]string `json:"domains"`
	EventRetention *string   `json:"event_retention" doc:"default days=365"`
}

// Domain is tenants/domains/: one hostname of a tenant.
type Domain struct {
	Domain string    `json:"domain"`
	Tenant uuid.UUID `json:"tenant"`
}

func (d Domain) Meta() Meta { return Meta{Name: d.Domain} }

// DomainRequest adds a hostname to a tenant.
type DomainRequest struct {
	Domain *string    `json:"domain"`
	Tenant *uuid.UUID `json:"tenant"`
}

func tenantOut(t *store.Tenant) Tenant {
	d := t.Domains
	if d == nil {
		d = []string{}
	}
	return Tenant{TenantUUID: t.ID, Name: t.Name, Default: t.Default, Domains: d, EventRetention: config.FormatDuration(t.EventRetention)}
}

// RegisterTenants adds tenants/tenants/ and tenants/domains/. Tenants are
// the one thing above a tenant, so only superusers of the default tenant
// (the operator's) reach them: a tenant's own admins, superusers there,
// must not learn that other tenants exist. changed readies tenants after
// a write (a new tenant's default key, flows and stages; the routing of
// new domains), as a restart would.
func RegisterTenants(a *API, changed func(context.Context) error) {
	from := len(a.endpoints)
	Register(a, Resource[Tenant, TenantRequest]{
		Path: "tenants/tenants/", Tag: "tenants", Model: "authentik_tenants.tenant", Required: []string{"name"},
		List: func(ctx context.Context, c *Caller, q Query) ([]Tenant, int, error) {
			ts, err := a.Store.Tenants().List(ctx)
			if err != nil {
				return nil, 0, err
			}
			var out []Tenant
			for _, t := range ts {
				if strings.Contains(strings.ToLower(t.Name+"\x00"+strings.Join(t.Domains, "\x00")), strings.ToLower(q.Search)) {
					out = append(out, tenantOut(t))
				}
			}
			return slicePage(out, q.Page), len(out), nil
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (Tenant, error) {
			t, err := a.Store.Tenants().Get(ctx, id)
			if err != nil {
				return Tenant{}, err
			}
			return tenantOut(t), nil
		},
		Create: func(ctx context.Context, c *Caller, in *TenantRequest) (Tenant, error) {
			t := &store.Tenant{Name: strings.TrimSpace(*in.Name)}
			if in.Domains != nil {
				t.Domains = slices.Clone(*in.Domains)
			}
			if in.EventRetention != nil {
				d, err := config.ParseDuration(*in.EventRetention)
				if err != nil {
					return Tenant{}, store.Invalid("event_retention", "must be a duration such as days=365")
				}
				t.EventRetention = d
			}
			if err := a.Store.Tenants().Create(ctx, t); err != nil {
				return Tenant{}, err
			}
			if changed != nil {
				if err := changed(ctx); err != nil {
					return Tenant{}, fmt.Errorf("tenant %s created, defaults not applied: %w", t.ID, err)
				}
			}
			return tenantOut(t), nil
		},
	})
	Register(a, Resource[Domain, DomainRequest]{
		Path: "tenants/domains/", Tag: "tenants", Model: "authentik_tenants.domain", Required: []string{"domain", "tenant"},
		List: func(ctx context.Context, c *Caller, q Query) ([]Domain, int, error) {
			ts, err := a.Store.Tenants().List(ctx)
			if err != nil {
				return nil, 0, err
			}
			var out []Domain
			for _, t := range ts {
				for _, d := range t.Domains {
					if strings.Contains(d, strings.ToLower(q.Search)) {
						out = append(out, Domain{Domain: d, Tenant: t.ID})
					}
				}
			}
			return slicePage(out, q.Page), len(out), nil
		},
		Create: func(ctx context.Context, c *Caller, in *DomainRequest) (Domain, error) {
			if _, err := a.Store.Tenants().Get(ctx, *in.Tenant); err != nil {
				return Domain{}, store.Invalid("tenant", "no such tenant")
			}
			d := strings.ToLower(strings.TrimSpace(*in.Domain))
			if err := a.Store.Tenants().AddDomain(ctx, *in.Tenant, d); err != nil {
				return Domain{}, err
			}
			if changed != nil {
				if err := changed(ctx); err != nil {
					return Domain{}, err
				}
			}
			return Domain{Domain: d, Tenant: *in.Tenant}, nil
		},
	})
	for _, e := range a.endpoints[from:] {
		run := e.run
		e.run = func(ctx context.Context, c *Caller, w http.ResponseWriter, r *http.Request) error {
			if t := httpx.From(ctx).Tenant; !c.Superuser || t == nil || !t.Default {
				return Errorf(http.StatusForbidden, "only superusers of the default tenant manage tenants")
			}
			return run(ctx, c, w, r)
		}
	}
}
