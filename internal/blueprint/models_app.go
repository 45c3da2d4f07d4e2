package blueprint

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func registerAppModels(r *Registry) {
	r.Register("authentik_core.application", applicationModel{})
	r.Register("authentik_crypto.certificatekeypair", keyPairModel{})
}

// applicationModel is authentik_core.application. Policies, groups and
// users can be bound to an application: they decide who may log in to it.
// It writes through the domain layer, which checks the provider.
type applicationModel struct{}

func (applicationModel) DomainWrites() {}

var applicationFields = []string{"name", "slug", "group", "provider", "meta_launch_url", "meta_icon",
	"meta_description", "meta_publisher", "open_in_new_tab", "policy_engine_mode"}

// applicationUnsupported are fields an Authentik export may carry empty.
var applicationUnsupported = []string{"backchannel_providers"}

func applicationValues(a *store.Application) map[string]any {
	provider := any(nil)
	if a.ProviderID.Valid {
		provider = a.ProviderID.UUID
	}
	return map[string]any{"pk": a.ID, "name": a.Name, "slug": a.Slug, "group": a.Group, "provider": provider,
		"meta_launch_url": a.LaunchURL, "meta_icon": a.Icon, "meta_description": a.Description,
		"meta_publisher": a.Publisher, "open_in_new_tab": a.OpenInNewTab, "policy_engine_mode": a.PolicyEngineMode}
}

func (applicationModel) Find(ctx context.Context, tx *Tx, by Values) (uuid.UUID, bool, error) {
	if err := by.Check(append([]string{"pk"}, applicationFields...)...); err != nil {
		return uuid.Nil, false, err
	}
	return byKeys(by, "applications", []string{"pk", "slug"}, func(key, value string) (*store.Application, error) {
		if key == "slug" {
			return tx.Scope.Applications().GetBySlug(ctx, value)
		}
		id, err := parsePK(value)
		if err != nil {
			return nil, err
		}
		return tx.Scope.Applications().Get(ctx, id)
	}, applicationValues)
}

func applyApplication(a *store.Application, v Values) error {
	v, err := v.Unsupported(applicationUnsupported...)
	if err != nil {
		return err
	}
	if err := v.Check(applicationFields...); err != nil {
		return err
	}
	fl := fields{v: v}
	fl.str("name", &a.Name)
	fl.str("slug", &a.Slug)
	fl.str("group", &a.Group)
	fl.ref("provider", &a.ProviderID)
	fl.str("meta_launch_url", &a.LaunchURL)
	fl.str("meta_icon", &a.Icon)
	fl.str("meta_description", &a.Description)
	fl.str("meta_publisher", &a.Publisher)
	fl.boolean("open_in_new_tab", &a.OpenInNewTab)
	fl.str("policy_engine_mode", &a.PolicyEngineMode)
	// The store trims the name; trimming here too keeps re-applying a no-op.
	a.Name = strings.TrimSpace(a.Name)
	return fl.err()
}

func (applicationModel) Create(ctx context.Context, tx *Tx, v Values) (uuid.UUID, error) {
	a := &store.Application{PolicyEngineMode: "any"}
	if err := applyApplication(a, v); err != nil {
		return uuid.Nil, err
	}
	err := tx.Core().As(tx.Actor()).CreateApplication(ctx, tx.Scope, a)
	return a.ID, err
}

func (applicationModel) Update(ctx context.Context, tx *Tx, id uuid.UUID, v Values) (bool, error) {
	cur, err := tx.Scope.Applications().Get(ctx, id)
	if err != nil {
		return false, err
	}
	next := *cur
	if err := applyApplication(&next, v); err != nil {
		return false, err
	}
	if next == *cur {
		return false, nil
	}
	_, err = tx.Core().As(tx.Actor()).UpdateApplication(ctx, tx.Scope, id, 0, func(a *store.Application) error { return applyApplication(a, v) })
	return err == nil, err
}

func (applicationModel) Delete(ctx context.Context, tx *Tx, id uuid.UUID) error {
	return tx.Core().As(tx.Actor()).DeleteApplication(ctx, tx.Scope, id)
}

func (applicationModel) Exists(ctx context.Context, tx *Tx, id uuid.UUID) (bool, error) {
	_, ok, err := found(tx.Scope.Applications().Get(ctx, id))
	return ok, err
}

// keyPairModel is authentik_crypto.certificatekeypair, for lookups only:
// a provider's signing_key is !Find [authentik_crypto.certificatekeypair,
// [name, ...]]. Keys are made and imported with the command line, because a
// private key in a blueprint would sit in plain text in files, repositories
// and shell histories.
type keyPairModel struct{}

var keyPairKeys = []string{"pk", "name", "managed"}

func keyPairValues(k *store.CertificateKeyPair) map[string]any {
	return map[string]any{"pk": k.ID, "name": k.Name, "managed": k.Managed, "key_type": k.KeyType}
}

func (keyPairModel) Find(ctx context.Context, tx *Tx, by Values) (uuid.UUID, bool, error) {
	if err := by.Check(append(slices.Clone(keyPairKeys), "key_type")...); err != nil {
		return uuid.Nil, false, err
	}
	keys := tx.Scope.CertificateKeyPairs()
	return byKeys(by, "certificate key pairs", keyPairKeys, func(key, value string) (*store.CertificateKeyPair, error) {
		switch key {
		case "name":
			return keys.GetByName(ctx, value)
		case "managed":
			return keys.GetByManaged(ctx, value)
		}
		id, err := parsePK(value)
		if err != nil {
			return nil, err
		}
		return keys.Get(ctx, id)
	}, keyPairValues)
}

var errKeyPairReadOnly = errors.New("certificate key pairs are not created, changed or deleted by blueprints " +
	"(a private key does not belong in a YAML file): use `gatehouse key generate` or `gatehouse key import`, " +
	"and refer to the key with !Find [authentik_crypto.certificatekeypair, [name, ...]]")

func (keyPairModel) Create(context.Context, *Tx, Values) (uuid.UUID, error) {
	return uuid.Nil, errKeyPairReadOnly
}

// Update accepts an entry that changes nothing, so a blueprint may list a
// key pair (by its identifiers) to say it needs it.
func (keyPairModel) Update(ctx context.Context, tx *Tx, id uuid.UUID, v Values) (bool, error) {
	k, err := tx.Scope.CertificateKeyPairs().Get(ctx, id)
	if err != nil {
		return false, err
	}
	have := keyPairValues(k)
	for _, field := range slices.Sorted(maps.Keys(v)) {
		if _, known := have[field]; !known || !sameJSON(v[field], have[field]) {
			return false, fmt.Errorf("%s: %w", field, errKeyPairReadOnly)
		}
	}
	return false, nil
}

func (keyPairModel) Delete(context.Context, *Tx, uuid.UUID) error { return errKeyPairReadOnly }
