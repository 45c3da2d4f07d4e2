package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// NewProvider describes a provider to create; zero fields get defaults.
type NewProvider struct {
	Name         string
	ClientType   string // confidential (default) | public
	RedirectURIs []RedirectURI
	// Config overrides; ClientType, RedirectURIs and defaults are applied on top.
	Config *Config
}

// Created is what an admin must copy into the client (the seed's "record
// the Client ID and Client Secret").
type Created struct {
	Provider     *store.Provider
	ClientID     string
	ClientSecret string // "" for public clients
}

// Lengths of generated credentials, Authentik's.
const (
	ClientIDLength     = 40
	ClientSecretLength = 128
)

// Defaults filled from the tenant's objects: the default flows, the
// default signing key and the managed scope mappings.
type TenantDefaults struct {
	AuthorizationFlow string
	InvalidationFlow  string
	SigningKey        string
	Mappings          []string
}

// LoadTenantDefaults finds the tenant's default flows, key and managed
// scope mappings (created by the default blueprints and key manager).
func LoadTenantDefaults(ctx context.Context, sc store.Scope, signingKey uuid.UUID) (TenantDefaults, error) {
	d := TenantDefaults{}
	if signingKey != uuid.Nil {
		d.SigningKey = signingKey.String()
	}
	for slug, dst := range map[string]*string{provider.DefaultAuthorizationFlow: &d.AuthorizationFlow,
		"default-provider-invalidation-flow": &d.InvalidationFlow} {
		f, err := sc.Flows().GetBySlug(ctx, slug)
		if err == nil {
			*dst = f.ID.String()
		} else if !errors.Is(err, store.ErrNotFound) {
			return d, err
		}
	}
	maps, _, err := sc.PropertyMappings().List(ctx, store.ObjectQuery{Kind: MappingKind, Page: store.Page{Size: store.MaxPageSize}})
	if err != nil {
		return d, err
	}
	want := []string{ManagedOpenID, ManagedEmail, ManagedProfile, ManagedOffline}
	for _, m := range maps {
		var cfg struct {
			Managed string `json:"managed"`
		}
		if json.Unmarshal(m.Config, &cfg) == nil && slices.Contains(want, cfg.Managed) {
			d.Mappings = append(d.Mappings, m.ID.String())
		}
	}
	return d, nil
}

// CoreKind is what the domain layer (internal/core) needs to write OAuth2
// providers: every write of one, from the API, blueprints or the CLI,
// goes through core with it.
var CoreKind = core.ProviderKind{Kind: Kind, Model: BlueprintModel,
	Validate: func(_ context.Context, _ store.Scope, p *store.Provider) error {
		_, err := ParseConfig(p.Config)
		return err
	}}

// CreateProvider stores a new OAuth2 provider with generated credentials
// (BuildProvider) as it is, without the domain layer: for tests' fixtures.
func CreateProvider(ctx context.Context, sc store.Scope, box *secretbox.Box, defaults TenantDefaults, n NewProvider) (*Created, error) {
	out, err := BuildProvider(sc, box, defaults, n)
	if err != nil {
		return nil, err
	}
	if err := sc.Providers().Create(ctx, out.Provider); err != nil {
		return nil, err
	}
	return out, nil
}

// BuildProvider makes a new OAuth2 provider with generated credentials,
// not yet stored; the secret is sealed at rest and returned once here (it
// can be shown again to admins with the view_secret permission).
func BuildProvider(sc store.Scope, box *secretbox.Box, defaults TenantDefaults, n NewProvider) (*Created, error) {
	cfg := Defaults()
	if n.Config != nil {
		cfg = *n.Config
	}
	if n.ClientType != "" {
		cfg.ClientType = n.ClientType
	}
	if n.RedirectURIs != nil {
		cfg.RedirectURIs = n.RedirectURIs
	}
	if cfg.AuthorizationFlow == "" {
		cfg.AuthorizationFlow = defaults.AuthorizationFlow
	}
	if cfg.InvalidationFlow == "" {
		cfg.InvalidationFlow = defaults.InvalidationFlow
	}
	if cfg.SigningKey == "" {
		cfg.SigningKey = defaults.SigningKey
	}
	if cfg.PropertyMappings == nil {
		cfg.PropertyMappings = defaults.Mappings
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := ParseConfig(raw); err != nil {
		return nil, err
	}
	out := &Created{ClientID: crypto.Token(ClientIDLength)}
	p := &store.Provider{ID: uuid.Must(uuid.NewV7()), Name: n.Name, Kind: Kind, ClientID: out.ClientID, Config: raw}
	if cfg.ClientType == "confidential" {
		out.ClientSecret = crypto.Token(ClientSecretLength)
		p.SecretEnc = box.SealString(out.ClientSecret, SecretAAD(sc.TenantID(), p.ID))
	}
	out.Provider = p
	return out, nil
}

// ClientSecret unseals a provider's secret (for admins allowed to view it).
func ClientSecret(box *secretbox.Box, tenant uuid.UUID, p *store.Provider) (string, error) {
	if p.SecretEnc == "" {
		return "", nil
	}
	return box.OpenString(p.SecretEnc, SecretAAD(tenant, p.ID))
}
