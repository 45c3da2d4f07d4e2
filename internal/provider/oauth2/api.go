package oauth2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/crypto/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// OAuth2Provider is Authentik's OAuth2ProviderSerializer as the REST API
// returns it. The client secret is not in it: providers/oauth2/{id}/secret/
// shows it to those allowed, and records that it did.
type OAuth2Provider struct {
	PK                      uuid.UUID        `json:"pk"`
	Name                    string           `json:"name"`
	AuthorizationFlow       uuid.NullUUID    `json:"authorization_flow"`
	InvalidationFlow        uuid.NullUUID    `json:"invalidation_flow"`
	AuthenticationFlow      uuid.NullUUID    `json:"authentication_flow"`
	PropertyMappings        []uuid.UUID      `json:"property_mappings"`
	ClientType              string           `json:"client_type" enum:"confidential,public"`
	ClientID                string           `json:"client_id"`
	AccessCodeValidity      string           `json:"access_code_validity"`
	AccessTokenValidity     string           `json:"access_token_validity"`
	RefreshTokenValidity    string           `json:"refresh_token_validity"`
	RefreshTokenThreshold   string           `json:"refresh_token_threshold"`
	IncludeClaimsInIDToken  bool             `json:"include_claims_in_id_token"`
	SigningKey              uuid.NullUUID    `json:"signing_key" doc:"null: ID tokens are HS256 with the client secret"`
	RedirectURIs            []RedirectURI    `json:"redirect_uris"`
	SubMode                 string           `json:"sub_mode"`
	IssuerMode              string           `json:"issuer_mode" enum:"per_provider,global"`
	LogoutURI               string           `json:"logout_uri" doc:"back-channel logout URL"`
	TokenEndpointAuthMethod string           `json:"token_endpoint_auth_method"`
	ClientJWKS              *json.RawMessage `json:"client_jwks" doc:"the client's public keys for private_key_jwt (a JWK Set), or null"`
	AssignedApplicationSlug string           `json:"assigned_application_slug"`
	AssignedApplicationName string           `json:"assigned_application_name"`
	Component               string           `json:"component"`
	MetaModelName           string           `json:"meta_model_name"`
	version                 int64
}

func (p OAuth2Provider) Meta() api.Meta { return api.Meta{ID: p.PK, Name: p.Name, Version: p.version} }

// OAuth2ProviderRequest is what create and update accept: Authentik's
// field names, laid over the provider as a blueprint entry is, so both
// ways check the same things. Unset references take the tenant's defaults
// on create (default flows, signing key, scope mappings).
type OAuth2ProviderRequest struct {
	Name                    *string          `json:"name"`
	AuthorizationFlow       *uuid.NullUUID   `json:"authorization_flow"`
	InvalidationFlow        *uuid.NullUUID   `json:"invalidation_flow"`
	AuthenticationFlow      *uuid.NullUUID   `json:"authentication_flow"`
	PropertyMappings        *[]uuid.UUID     `json:"property_mappings"`
	ClientType              *string          `json:"client_type" enum:"confidential,public"`
	ClientID                *string          `json:"client_id" doc:"generated when absent"`
	ClientSecret            *string          `json:"client_secret" doc:"write-only; generated when absent"`
	AccessCodeValidity      *string          `json:"access_code_validity" doc:"e.g. minutes=1"`
	AccessTokenValidity     *string          `json:"access_token_validity" doc:"e.g. hours=1"`
	RefreshTokenValidity    *string          `json:"refresh_token_validity" doc:"e.g. days=30"`
	RefreshTokenThreshold   *string          `json:"refresh_token_threshold"`
	IncludeClaimsInIDToken  *bool            `json:"include_claims_in_id_token"`
	SigningKey              *uuid.NullUUID   `json:"signing_key"`
	RedirectURIs            *[]RedirectURI   `json:"redirect_uris"`
	SubMode                 *string          `json:"sub_mode"`
	IssuerMode              *string          `json:"issuer_mode" enum:"per_provider,global"`
	LogoutURI               *string          `json:"logout_uri"`
	TokenEndpointAuthMethod *string          `json:"token_endpoint_auth_method"`
	ClientJWKS              *json.RawMessage `json:"client_jwks"`
}

// OAuth2ProviderSecret is the answer of secret/ and rotate_secret/.
type OAuth2ProviderSecret struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// values turns the request into blueprint values (what JSON decoding
// gives: strings, numbers, lists, maps), leaving the secret out: the API
// seals it itself.
func (in *OAuth2ProviderRequest) values() (blueprint.Values, *string, error) {
	v := blueprint.Values{}
	rv := reflect.ValueOf(in).Elem()
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if rv.Field(i).IsNil() || name == "client_secret" {
			continue
		}
		raw, err := json.Marshal(rv.Field(i).Interface())
		if err != nil {
			return nil, nil, err
		}
		var x any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&x); err != nil {
			return nil, nil, err
		}
		v[name] = x
	}
	return v, in.ClientSecret, nil
}

func (s *Service) apiOut(ctx context.Context, sc store.Scope, p *store.Provider) (OAuth2Provider, error) {
	c, err := ParseConfig(p.Config)
	if err != nil {
		return OAuth2Provider{}, err
	}
	out := OAuth2Provider{PK: p.ID, Name: p.Name, AuthorizationFlow: api.NullID(c.AuthorizationFlow),
		InvalidationFlow: api.NullID(c.InvalidationFlow), AuthenticationFlow: api.NullID(c.AuthenticationFlow),
		PropertyMappings: []uuid.UUID{}, ClientType: c.ClientType, ClientID: p.ClientID,
		AccessCodeValidity: c.AccessCodeValidity, AccessTokenValidity: c.AccessTokenValidity,
		RefreshTokenValidity: c.RefreshTokenValidity, RefreshTokenThreshold: c.RefreshTokenThreshold,
		IncludeClaimsInIDToken: c.IncludeClaimsInIDToken, SigningKey: api.NullID(c.SigningKey), RedirectURIs: c.RedirectURIs,
		SubMode: c.SubMode, IssuerMode: c.IssuerMode, LogoutURI: c.BackchannelLogoutURI,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		Component:               "ak-provider-oauth2-form", MetaModelName: BlueprintModel, version: p.Version}
	if out.RedirectURIs == nil {
		out.RedirectURIs = []RedirectURI{}
	}
	if len(c.ClientJWKS) > 0 {
		out.ClientJWKS = &c.ClientJWKS
	}
	for _, m := range c.PropertyMappings {
		if id := api.NullID(m); id.Valid {
			out.PropertyMappings = append(out.PropertyMappings, id.UUID)
		}
	}
	out.AssignedApplicationSlug, out.AssignedApplicationName, err = api.AssignedApplication(ctx, sc, p.ID)
	return out, err
}

// sealAPISecret seals the secret an admin gave, or a new one when the
// provider has none, so the blueprint code never needs to generate one:
// every provider has a secret, as in Authentik.
func (s *Service) sealAPISecret(sc store.Scope, p *store.Provider, given *string) error {
	switch {
	case given != nil && (*given == "" || len(*given) > 255):
		return store.Invalid("client_secret", "must be 1 to 255 characters; leave it out to have one generated")
	case given != nil:
		p.SecretEnc = s.Box.SealString(*given, SecretAAD(sc.TenantID(), p.ID))
	case p.SecretEnc == "":
		p.SecretEnc = s.Box.SealString(crypto.Token(ClientSecretLength), SecretAAD(sc.TenantID(), p.ID))
	}
	return nil
}

func (s *Service) provider(ctx context.Context, sc store.Scope, id uuid.UUID) (*store.Provider, error) {
	p, err := sc.Providers().Get(ctx, id)
	if err == nil && p.Kind != Kind {
		return nil, store.ErrNotFound // another kind's endpoint serves it
	}
	return p, err
}

// RegisterAPI adds providers/oauth2/ to the REST API.
func (s *Service) RegisterAPI(a *api.API) {
	const model = "authentik_providers_oauth2.oauth2provider"
	api.Register(a, api.Resource[OAuth2Provider, OAuth2ProviderRequest]{
		Path: "providers/oauth2/", Tag: "providers", Model: model, Required: []string{"name"},
		List: func(ctx context.Context, c *api.Caller, q api.Query) ([]OAuth2Provider, int, error) {
			ps, total, err := c.Scope.Providers().List(ctx, store.ObjectQuery{Kind: Kind, Search: q.Search, Page: q.Page})
			if err != nil {
				return nil, 0, err
			}
			out := make([]OAuth2Provider, len(ps))
			for i, p := range ps {
				if out[i], err = s.apiOut(ctx, c.Scope, p); err != nil {
					return nil, 0, err
				}
			}
			return out, total, nil
		},
		Get: func(ctx context.Context, c *api.Caller, id uuid.UUID) (OAuth2Provider, error) {
			p, err := s.provider(ctx, c.Scope, id)
			if err != nil {
				return OAuth2Provider{}, err
			}
			return s.apiOut(ctx, c.Scope, p)
		},
		Create: s.apiCreate,
		Update: s.apiUpdate,
		Delete: func(ctx context.Context, c *api.Caller, id uuid.UUID) error {
			return s.Core.As(c.Actor()).DeleteProvider(ctx, c.Scope, CoreKind, id)
		},
		DomainWrites: true,
	})
	api.Action(a, http.MethodGet, "providers/oauth2/{id}/secret/", "providers", "providers_oauth2_secret_retrieve",
		"The client secret, recorded as secret_view", "authentik_providers_oauth2.view_secret", http.StatusOK,
		func(ctx context.Context, c *api.Caller, r *http.Request, _ *struct{}) (*OAuth2ProviderSecret, error) {
			return s.apiSecret(ctx, c, r, "secret_view", nil)
		})
	api.Action(a, http.MethodPost, "providers/oauth2/{id}/rotate_secret/", "providers", "providers_oauth2_rotate_secret_create",
		"Replace the client secret with a new one, returned once and recorded as secret_rotate", "authentik_providers_oauth2.change_oauth2provider",
		http.StatusOK, func(ctx context.Context, c *api.Caller, r *http.Request, _ *struct{}) (*OAuth2ProviderSecret, error) {
			return s.apiSecret(ctx, c, r, "secret_rotate", func(p *store.Provider) error {
				p.SecretEnc = ""
				return s.sealAPISecret(c.Scope, p, nil)
			})
		})
}

// apiSecret shows a provider's secret, first replacing it when rotate is
// set (a domain write: the old secret stops working at once, here and on
// every other replica), and records event.
func (s *Service) apiSecret(ctx context.Context, c *api.Caller, r *http.Request, event string, rotate func(*store.Provider) error) (*OAuth2ProviderSecret, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return nil, store.ErrNotFound
	}
	p, err := s.provider(ctx, c.Scope, id)
	if err != nil {
		return nil, err
	}
	if rotate != nil {
		p, err = s.Core.As(c.Actor()).UpdateProvider(ctx, c.Scope, CoreKind, id, 0,
			func(_ store.Scope, p *store.Provider) error { return rotate(p) })
		if err != nil {
			return nil, err
		}
	}
	secret, err := ClientSecret(s.Box, c.Scope.TenantID(), p)
	if err != nil {
		return nil, err
	}
	slug, _, err := api.AssignedApplication(ctx, c.Scope, p.ID)
	if err != nil {
		return nil, err
	}
	if s.Events != nil {
		s.Events(ctx, c.Scope, c.Event(&store.Event{Action: event, App: slug, Context: map[string]any{
			"model": map[string]any{"app": "authentik_providers_oauth2", "model_name": "oauth2provider", "pk": p.ID.String(),
				"name": p.Name}, "type": "client_secret", "via": "api"}}))
	}
	return &OAuth2ProviderSecret{ClientID: p.ClientID, ClientSecret: secret}, nil
}

func (s *Service) apiCreate(ctx context.Context, c *api.Caller, in *OAuth2ProviderRequest) (OAuth2Provider, error) {
	v, secret, err := in.values()
	if err != nil {
		return OAuth2Provider{}, err
	}
	key := uuid.Nil
	if k, err := c.Scope.CertificateKeyPairs().GetByManaged(ctx, keys.Managed); err == nil {
		key = k.ID
	} else if !errors.Is(err, store.ErrNotFound) {
		return OAuth2Provider{}, err
	}
	d, err := LoadTenantDefaults(ctx, c.Scope, key)
	if err != nil {
		return OAuth2Provider{}, err
	}
	cfg := map[string]any{"authorization_flow": d.AuthorizationFlow, "invalidation_flow": d.InvalidationFlow,
		"signing_key": d.SigningKey, "property_mappings": d.Mappings}
	p := &store.Provider{ID: uuid.Must(uuid.NewV7()), Kind: Kind}
	if err := s.sealAPISecret(c.Scope, p, secret); err != nil {
		return OAuth2Provider{}, err
	}
	if err := s.apiBuild(ctx, c.Scope, p, cfg, v); err != nil {
		return OAuth2Provider{}, err
	}
	if err := s.Core.As(c.Actor()).CreateProvider(ctx, c.Scope, CoreKind, p); err != nil {
		return OAuth2Provider{}, err
	}
	return s.apiOut(ctx, c.Scope, p)
}

func (s *Service) apiUpdate(ctx context.Context, c *api.Caller, id uuid.UUID, version int64, in *OAuth2ProviderRequest) (OAuth2Provider, error) {
	v, secret, err := in.values()
	if err != nil {
		return OAuth2Provider{}, err
	}
	p, err := s.Core.As(c.Actor()).UpdateProvider(ctx, c.Scope, CoreKind, id, version, func(tx store.Scope, p *store.Provider) error {
		cfg := map[string]any{}
		if len(p.Config) > 0 {
			d := json.NewDecoder(bytes.NewReader(p.Config))
			d.UseNumber()
			if err := d.Decode(&cfg); err != nil {
				return err
			}
		}
		if err := s.sealAPISecret(tx, p, secret); err != nil {
			return err
		}
		return s.apiBuild(ctx, tx, p, cfg, v)
	})
	if err != nil {
		return OAuth2Provider{}, err
	}
	return s.apiOut(ctx, c.Scope, p)
}

// apiBuild lays v over the provider p (settings cfg) as a blueprint entry
// would. Unlike a blueprint, it refuses a secret too short to sign with
// when there is no signing key: ID tokens are then HS256 with the secret,
// which needs 32 bytes (RFC 7518 §3.2), and every login would fail.
func (s *Service) apiBuild(ctx context.Context, sc store.Scope, p *store.Provider, cfg map[string]any, v blueprint.Values) error {
	if err := (providerModel{}).build(ctx, &blueprint.Tx{Scope: sc}, p, cfg, v); err != nil {
		return err
	}
	c, err := ParseConfig(p.Config)
	if err != nil || c.SigningKey != "" {
		return err
	}
	secret, err := ClientSecret(s.Box, sc.TenantID(), p)
	if err == nil && len(secret) < 32 {
		return store.Invalid("client_secret", "must be at least 32 characters while signing_key is null (ID tokens are then signed with it)")
	}
	return err
}
