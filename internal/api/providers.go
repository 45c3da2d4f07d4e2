package api

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Provider is Authentik's generic provider serializer (providers/all/):
// what every kind shares, read from the settings by their common names.
// Each kind's own endpoint (providers/oauth2/, ...) edits it.
type Provider struct {
	PK                      uuid.UUID     `json:"pk"`
	Name                    string        `json:"name"`
	AuthenticationFlow      uuid.NullUUID `json:"authentication_flow"`
	AuthorizationFlow       uuid.NullUUID `json:"authorization_flow"`
	InvalidationFlow        uuid.NullUUID `json:"invalidation_flow"`
	PropertyMappings        []uuid.UUID   `json:"property_mappings"`
	Component               string        `json:"component" doc:"the admin form of the kind, as Authentik names it"`
	AssignedApplicationSlug string        `json:"assigned_application_slug"`
	AssignedApplicationName string        `json:"assigned_application_name"`
	VerboseName             string        `json:"verbose_name"`
	VerboseNamePlural       string        `json:"verbose_name_plural"`
	MetaModelName           string        `json:"meta_model_name"`
	version                 int64
}

func (p Provider) Meta() Meta { return Meta{ID: p.PK, Name: p.Name, Version: p.version} }

// providerNames are Authentik's display names of the provider kinds.
var providerNames = map[string]string{"oauth2": "OAuth2/OpenID Provider", "saml": "SAML Provider", "ldap": "LDAP Provider",
	"proxy": "Proxy Provider", "scim": "SCIM Provider"}

// AssignedApplication is the slug and name of the application using a
// provider ("" when none does).
func AssignedApplication(ctx context.Context, sc store.Scope, provider uuid.UUID) (slug, name string, err error) {
	app, err := sc.Applications().GetByProvider(ctx, provider)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", nil
	} else if err != nil {
		return "", "", err
	}
	return app.Slug, app.Name, nil
}

// NullID reads a stored reference ("" or a UUID) as a nullable ID.
func NullID(s string) uuid.NullUUID {
	id, err := uuid.Parse(s)
	return uuid.NullUUID{UUID: id, Valid: err == nil}
}

func providerOut(ctx context.Context, sc store.Scope, p *store.Provider) (Provider, error) {
	var cfg struct {
		AuthenticationFlow string   `json:"authentication_flow"`
		AuthorizationFlow  string   `json:"authorization_flow"`
		InvalidationFlow   string   `json:"invalidation_flow"`
		PropertyMappings   []string `json:"property_mappings"`
	}
	json.Unmarshal(p.Config, &cfg) // settings the kind does not have stay empty
	out := Provider{PK: p.ID, Name: p.Name, AuthenticationFlow: NullID(cfg.AuthenticationFlow),
		AuthorizationFlow: NullID(cfg.AuthorizationFlow), InvalidationFlow: NullID(cfg.InvalidationFlow),
		PropertyMappings: []uuid.UUID{}, Component: "ak-provider-" + p.Kind + "-form",
		MetaModelName: "authentik_providers_" + p.Kind + "." + p.Kind + "provider", version: p.Version}
	for _, m := range cfg.PropertyMappings {
		if id := NullID(m); id.Valid {
			out.PropertyMappings = append(out.PropertyMappings, id.UUID)
		}
	}
	out.VerboseName = providerNames[p.Kind]
	if out.VerboseName == "" {
		out.VerboseName = strings.ToUpper(p.Kind) + " Provider"
	}
	out.VerboseNamePlural = out.VerboseName + "s"
	var err error
	out.AssignedApplicationSlug, out.AssignedApplicationName, err = AssignedApplication(ctx, sc, p.ID)
	return out, err
}

func (a *API) registerProviders() {
	Register(a, Resource[Provider, struct{}]{
		Path: "providers/all/", Tag: "providers", Model: "authentik_core.provider",
		List: func(ctx context.Context, c *Caller, q Query) ([]Provider, int, error) {
			ps, total, err := c.Scope.Providers().List(ctx, store.ObjectQuery{Search: q.Search, Page: q.Page})
			if err != nil {
				return nil, 0, err
			}
			out := make([]Provider, len(ps))
			for i, p := range ps {
				if out[i], err = providerOut(ctx, c.Scope, p); err != nil {
					return nil, 0, err
				}
			}
			return out, total, nil
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (Provider, error) {
			p, err := c.Scope.Providers().Get(ctx, id)
			if err != nil {
				return Provider{}, err
			}
			return providerOut(ctx, c.Scope, p)
		},
	})
}
