package oauth2

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto/jwt"
	"github.com/gatehouse-id/gatehouse/internal/crypto/keys"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Signer signs tokens with one key.
type Signer interface {
	Sign(claims any, typ string) (string, error)
	Algorithm() string
}

// Keys is what the provider needs of the key manager.
type Keys interface {
	Signer(ctx context.Context, sc store.Scope, keyID uuid.UUID) (Signer, error)
	JWKS(ctx context.Context, sc store.Scope, keyIDs ...uuid.UUID) ([]byte, error)
	// HMAC signs with a client secret, for providers without a key (as Authentik).
	HMAC(secret []byte) Signer
}

// ManagedKeys signs with the key manager's keys (internal/crypto/keys), and
// with the client secret for providers without a key.
func ManagedKeys(m *keys.Manager) Keys { return managedKeys{m} }

type managedKeys struct{ m *keys.Manager }

func (k managedKeys) Signer(ctx context.Context, sc store.Scope, id uuid.UUID) (Signer, error) {
	return k.m.Signer(ctx, sc, id)
}

func (k managedKeys) JWKS(ctx context.Context, sc store.Scope, ids ...uuid.UUID) ([]byte, error) {
	return k.m.JWKS(ctx, sc, ids...)
}

func (k managedKeys) HMAC(secret []byte) Signer { return jwt.NewHMACSigner(secret) }

// Service is the OAuth 2.0 / OpenID Connect provider kind.
type Service struct {
	// Env is what every provider kind shares (internal/provider).
	*provider.Env
	Keys Keys
	// Issued is told each token response, by provider name and grant type
	// (for metrics); nil is fine.
	Issued func(provider, grant string)

	// grants are the token endpoint's grant types, by grant_type.
	grants grantRegistry
	// logoutQueue delivers back-channel logouts (EnableBackchannelLogout).
	logoutQueue *job.Queue
	device      deviceLimits

	clients provider.Cache[*client]
	docs    docCache
	origins tenantOrigins
}

// New returns the provider kind, built on env (whose Executor may be set
// later) and signing with keys.
func New(env *provider.Env, keys Keys) *Service {
	s := &Service{Env: env, Keys: keys}
	s.clients = provider.Cache[*client]{Kind: Kind, Resolve: s.resolve, Now: func() time.Time { return s.Now() }}
	s.grants = s.newGrantRegistry()
	return s
}

func mustID(s string) uuid.UUID { return uuid.MustParse(s) }

// client is a provider with everything a request needs, resolved once.
type client struct {
	provider *store.Provider
	cfg      *Config
	app      *store.Application
	secret   string
	mappings []*mapping
	// account is the client_credentials service account, cached as long
	// as the client is, so a machine token costs no user lookup.
	account atomic.Pointer[store.User]
}

// SecretAAD binds a provider's sealed client secret to its row.
func SecretAAD(tenant, provider uuid.UUID) secretbox.AAD {
	return secretbox.AAD{Tenant: tenant.String(), Table: "providers", Column: "secret_enc", Row: provider.String()}
}

// errNoClient is an unknown client: no provider of this kind, or none with
// an application.
var errNoClient = provider.ErrUnknown

// byClientID resolves a client by its client_id.
func (s *Service) byClientID(ctx context.Context, sc store.Scope, clientID string) (*client, error) {
	return s.clients.ByClientID(ctx, sc, clientID)
}

// bySlug resolves the provider of an application slug (issuer paths).
func (s *Service) bySlug(ctx context.Context, sc store.Scope, slug string) (*client, error) {
	return s.clients.BySlug(ctx, sc, slug)
}

// resolve reads what the endpoints need of a provider once per cache
// lifetime: its settings, its unsealed secret, its scope mappings.
func (s *Service) resolve(ctx context.Context, sc store.Scope, p *store.Provider, app *store.Application) (*client, error) {
	cfg, err := ParseConfig(p.Config)
	if err != nil {
		return nil, err
	}
	c := &client{provider: p, cfg: cfg, app: app}
	if p.SecretEnc != "" {
		if c.secret, err = s.Box.OpenString(p.SecretEnc, SecretAAD(sc.TenantID(), p.ID)); err != nil {
			return nil, err
		}
	}
	if c.mappings, err = loadMappings(ctx, sc, cfg.PropertyMappings); err != nil {
		return nil, err
	}
	return c, nil
}

// Invalidate forgets the cached providers and discovery documents of a
// tenant (of every tenant for uuid.Nil) after an admin edit; the
// composition root subscribes it to invalidate.Providers.
func (s *Service) Invalidate(tenant uuid.UUID) {
	s.origins.forget(tenant)
	s.clients.Invalidate(tenant)
	// A document's key names the provider's version, but not its mappings'
	// (scopes_supported) nor its key's (the signing algorithm).
	s.docs.drop(tenant)
}

// baseURL is where clients reach us, as this request sees it
// (httpx.Info.BaseURL: external_url, else the request's scheme and host).
func (s *Service) baseURL(r *http.Request) string { return httpx.From(r.Context()).BaseURL }

// issuer is the issuer of c for this request.
func (s *Service) issuer(r *http.Request, c *client) string {
	return Issuer(s.baseURL(r), c.app.Slug, c.cfg.IssuerMode)
}

// Issuer is the issuer of a provider with issuer mode mode for application
// slug, served at base (scheme and host, no trailing slash): per provider
// (<base>/application/o/<slug>/, Authentik's default) or global (<base>/).
// It is the string discovery states and tokens carry; strict clients
// (go-oidc, openid-client) compare it byte for byte, trailing slash
// included, so whatever prints or shows an issuer calls this too.
func Issuer(base, slug, mode string) string {
	if mode == "global" {
		return base + "/"
	}
	return base + "/application/o/" + slug + "/"
}

// subject computes the sub claim for the provider's sub mode.
func subject(c *client, tenant uuid.UUID, u *store.User) string {
	switch c.cfg.SubMode {
	case "user_id", "user_uuid":
		return u.ID.String()
	case "user_username":
		return u.Username
	case "user_email":
		if u.Email != "" {
			return u.Email
		}
	case "user_upn":
		if upn, ok := u.Attributes["upn"].(string); ok && upn != "" {
			return upn
		}
	}
	return UID(tenant, u.ID)
}

// UID is Authentik's user.uid: a stable pseudonymous ID per tenant.
func UID(tenant, user uuid.UUID) string {
	h := sha256.Sum256([]byte(user.String() + "-" + tenant.String()))
	return hex.EncodeToString(h[:])
}

// signer returns the provider's signing key, or HS256 with the client
// secret when the provider has no key (Authentik's behaviour).
func (s *Service) signer(ctx context.Context, sc store.Scope, c *client) (Signer, error) {
	if c.cfg.SigningKey == "" {
		if c.secret == "" {
			return nil, errors.New("provider has neither a signing key nor a client secret")
		}
		return s.Keys.HMAC([]byte(c.secret)), nil
	}
	return s.Keys.Signer(ctx, sc, uuid.MustParse(c.cfg.SigningKey))
}

func (s *Service) scope(r *http.Request) store.Scope {
	return s.Store.Scope(httpx.From(r.Context()).Tenant.ID)
}

// event records an audit event for the request.
func (s *Service) event(r *http.Request, sc store.Scope, action string, u *store.User, c *client, data map[string]any) {
	if s.Events == nil {
		return
	}
	e := &store.Event{Action: action, ClientIP: httpx.From(r.Context()).ClientIP, Context: data}
	if e.Context == nil {
		e.Context = map[string]any{}
	}
	if u != nil {
		e.UserID, e.Username = uuid.NullUUID{UUID: u.ID, Valid: true}, u.Username
	}
	if c != nil {
		e.App = c.app.Slug
	}
	s.Events(r.Context(), sc, e)
}
