package core

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// applicationFields are an application's fields by Authentik's names.
func applicationFields(a *store.Application) map[string]any {
	var provider any
	if a.ProviderID.Valid {
		provider = a.ProviderID.UUID
	}
	return map[string]any{"name": a.Name, "slug": a.Slug, "group": a.Group, "provider": provider,
		"meta_launch_url": a.LaunchURL, "meta_icon": a.Icon, "meta_description": a.Description,
		"meta_publisher": a.Publisher, "open_in_new_tab": a.OpenInNewTab, "policy_engine_mode": a.PolicyEngineMode}
}

// checkApplicationProvider gives a field error, not a foreign-key or
// unique-index failure, for a provider of another tenant or one that
// another application already uses (an application has one provider, a
// provider serves one application, as in Authentik).
func checkApplicationProvider(ctx context.Context, tx store.Scope, a *store.Application) error {
	if !a.ProviderID.Valid {
		return nil
	}
	if _, err := tx.Providers().Get(ctx, a.ProviderID.UUID); errors.Is(err, store.ErrNotFound) {
		return store.Invalid("provider", "no provider with ID %s exists", a.ProviderID.UUID)
	} else if err != nil {
		return err
	}
	other, err := tx.Applications().GetByProvider(ctx, a.ProviderID.UUID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	case other.ID != a.ID:
		return store.Invalid("provider", "is already the provider of application %q", other.Slug)
	}
	return nil
}

// CreateApplication stores an application; its policy engine mode is
// "any" unless set.
func (w Writer) CreateApplication(ctx context.Context, sc store.Scope, a *store.Application) error {
	if a.PolicyEngineMode == "" {
		a.PolicyEngineMode = "any"
	}
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		if err := checkApplicationProvider(ctx, tx, a); err != nil {
			return nil, err
		}
		if err := tx.Applications().Create(ctx, a); err != nil {
			return nil, err
		}
		return []*store.Event{ModelEvent("model_created", ModelApplication, a.ID, a.Name, nil)}, nil
	})
}

// UpdateApplication applies change to the application whose version is
// version (any when 0).
func (w Writer) UpdateApplication(ctx context.Context, sc store.Scope, id uuid.UUID, version int64, change func(*store.Application) error) (*store.Application, error) {
	var out *store.Application
	err := w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		cur, err := tx.Applications().Get(ctx, id)
		if err != nil {
			return nil, err
		}
		next := *cur
		if err := change(&next); err != nil {
			return nil, err
		}
		if err := checkApplicationProvider(ctx, tx, &next); err != nil {
			return nil, err
		}
		a, before, err := updated(ctx, id, version, tx.Applications().Update,
			func(a *store.Application) int64 { return a.Version }, applicationFields, change)
		if err != nil {
			return nil, err
		}
		out = a
		return []*store.Event{ModelEvent("model_updated", ModelApplication, id, a.Name, Changes(before, applicationFields(a)))}, nil
	})
	return out, err
}

// DeleteApplication deletes an application (its policy bindings go with it).
func (w Writer) DeleteApplication(ctx context.Context, sc store.Scope, id uuid.UUID) error {
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		return deleted(ctx, ModelApplication, id, tx.Applications().Get, func(a *store.Application) string { return a.Name },
			tx.Applications().Delete)
	})
}

// ProviderKind is what the domain layer needs of a provider kind (OAuth2,
// later SAML, LDAP, ...) to write its providers, whose settings it does
// not know: which rows are the kind's, its model for events, and the
// kind's own check of a provider.
type ProviderKind struct {
	// Kind is store.Provider.Kind ("oauth2").
	Kind string
	// Model is Authentik's model of the kind's providers, for events
	// ("authentik_providers_oauth2.oauth2provider").
	Model string
	// Validate checks a provider about to be stored (its columns and the
	// settings JSON in Config) as the kind's code will read them, in the
	// write's transaction; nil accepts any.
	Validate func(ctx context.Context, tx store.Scope, p *store.Provider) error
}

func (k ProviderKind) validate(ctx context.Context, tx store.Scope, p *store.Provider) error {
	if k.Validate == nil {
		return nil
	}
	return k.Validate(ctx, tx, p)
}

// providerFields are what a model_updated event of a provider compares:
// its name and client ID, and each of its settings. The secret is left
// out: an event shows that it changed by its own event (secret_rotate).
func providerFields(p *store.Provider) map[string]any {
	out := map[string]any{}
	json.Unmarshal(p.Config, &out) // settings that do not parse compare as none
	out["name"], out["client_id"] = p.Name, p.ClientID
	return out
}

// CreateProvider stores a provider of kind k (p.Kind is set to it).
func (w Writer) CreateProvider(ctx context.Context, sc store.Scope, k ProviderKind, p *store.Provider) error {
	p.Kind = k.Kind
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		if err := k.validate(ctx, tx, p); err != nil {
			return nil, err
		}
		if err := tx.Providers().Create(ctx, p); err != nil {
			return nil, err
		}
		return []*store.Event{ModelEvent("model_created", k.Model, p.ID, p.Name, nil)}, nil
	})
}

// UpdateProvider applies change (which may read the tenant's objects in
// tx) to the provider whose version is version (any when 0). A provider
// of another kind is not found: another kind's code writes it.
func (w Writer) UpdateProvider(ctx context.Context, sc store.Scope, k ProviderKind, id uuid.UUID, version int64,
	change func(tx store.Scope, p *store.Provider) error) (*store.Provider, error) {
	var out *store.Provider
	err := w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		if cur, err := tx.Providers().Get(ctx, id); err != nil || cur.Kind != k.Kind {
			return nil, cmp.Or(err, store.ErrNotFound)
		}
		p, before, err := updated(ctx, id, version, tx.Providers().Update, func(p *store.Provider) int64 { return p.Version },
			providerFields, func(p *store.Provider) error {
				if err := change(tx, p); err != nil {
					return err
				}
				return k.validate(ctx, tx, p)
			})
		if err != nil {
			return nil, err
		}
		out = p
		return []*store.Event{ModelEvent("model_updated", k.Model, id, p.Name, Changes(before, providerFields(p)))}, nil
	})
	return out, err
}

// DeleteProvider deletes a provider of kind k.
func (w Writer) DeleteProvider(ctx context.Context, sc store.Scope, k ProviderKind, id uuid.UUID) error {
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		get := func(ctx context.Context, id uuid.UUID) (*store.Provider, error) {
			p, err := tx.Providers().Get(ctx, id)
			if err == nil && p.Kind != k.Kind {
				return nil, store.ErrNotFound // another kind's code writes it
			}
			return p, err
		}
		return deleted(ctx, k.Model, id, get, func(p *store.Provider) string { return p.Name }, tx.Providers().Delete)
	})
}
