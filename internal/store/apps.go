package store

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Application is something users log in to, with at most one provider
// that says how (OAuth2/OIDC, SAML, ...).
type Application struct {
	ID               uuid.UUID
	Name             string
	Slug             string
	Group            string
	ProviderID       uuid.NullUUID
	LaunchURL        string
	Icon             string
	Description      string
	Publisher        string
	OpenInNewTab     bool
	PolicyEngineMode string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Version          int64
}

// reservedSlugs would collide with the OAuth2 endpoints under /application/o/.
var reservedSlugs = []string{"authorize", "token", "device", "userinfo", "introspect", "revoke", "par"}

var appSlugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,99}$`)

// Validate checks every field and reports all problems at once.
func (a *Application) Validate() error {
	v := &ValidationError{}
	if n := utf8.RuneCountInString(strings.TrimSpace(a.Name)); n == 0 || n > 256 {
		v.Add("name", "must be 1 to 256 characters")
	}
	switch {
	case !appSlugRE.MatchString(a.Slug):
		v.Add("slug", "must be 1 to 100 lower-case letters, digits, - or _")
	case contains(reservedSlugs, a.Slug):
		v.Add("slug", "%q is reserved", a.Slug)
	}
	if a.LaunchURL != "" && !httpURL(a.LaunchURL) && !strings.HasPrefix(a.LaunchURL, "/") {
		v.Add("meta_launch_url", "must be an http(s) URL")
	}
	if a.Icon != "" && !httpURL(a.Icon) && !strings.HasPrefix(a.Icon, "/") {
		v.Add("meta_icon", "must be an http(s) URL or a path")
	}
	for field, s := range map[string]string{"group": a.Group, "meta_publisher": a.Publisher} {
		if utf8.RuneCountInString(s) > 256 {
			v.Add(field, "must be at most 256 characters")
		}
	}
	if utf8.RuneCountInString(a.Description) > 4096 {
		v.Add("meta_description", "must be at most 4096 characters")
	}
	oneOf(v, "policy_engine_mode", a.PolicyEngineMode, engineModes)
	return v.Err()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(s) <= 2048
}

// Provider is a single sign-on protocol configuration. ClientID is set
// for OAuth2 providers (unique per tenant); SecretEnc holds a secret
// sealed with the secret box, never the plain value.
type Provider struct {
	ID        uuid.UUID
	Name      string
	Kind      string
	ClientID  string
	SecretEnc string
	Config    json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// Validate checks the shared fields; the provider package checks Config.
func (p *Provider) Validate() error {
	v := &ValidationError{}
	if n := utf8.RuneCountInString(strings.TrimSpace(p.Name)); n == 0 || n > 256 {
		v.Add("name", "must be 1 to 256 characters")
	}
	if !kindRE.MatchString(p.Kind) {
		v.Add("kind", "is not a known kind")
	}
	if len(p.ClientID) > 255 || strings.ContainsAny(p.ClientID, " \t\r\n") {
		v.Add("client_id", "must be at most 255 characters without spaces")
	}
	if len(p.Config) > 0 {
		ValidateJSON(v, "config", p.Config, MaxConfigLen)
	}
	return v.Err()
}

// Artifact is a short-lived secret of a single sign-on protocol: an
// authorization code, an access or refresh token, a device code, a pushed
// authorization request. Only the hash of its secret is stored. Artifacts
// issued from one grant share GrantID, so a replayed code or reused refresh
// token can revoke the whole family at once.
type Artifact struct {
	ID         uuid.UUID
	Kind       string
	KeyHash    []byte
	AltKey     string // a second lookup key (the device flow's user code)
	ProviderID uuid.UUID
	UserID     uuid.NullUUID
	SessionID  uuid.NullUUID
	GrantID    uuid.UUID
	Data       json.RawMessage
	Expires    time.Time
	ConsumedAt time.Time // used (codes) or revoked (tokens); zero while live
	CreatedAt  time.Time
}

// Usable reports whether the artifact is neither consumed nor expired.
func (a *Artifact) Usable(now time.Time) bool {
	return a.ConsumedAt.IsZero() && now.Before(a.Expires)
}

// ApplicationQuery filters an application list.
type ApplicationQuery struct {
	Search string
	Page   Page
}

// Applications is a tenant's applications.
type Applications interface {
	Create(ctx context.Context, a *Application) error
	Get(ctx context.Context, id uuid.UUID) (*Application, error)
	GetBySlug(ctx context.Context, slug string) (*Application, error)
	GetByProvider(ctx context.Context, providerID uuid.UUID) (*Application, error)
	List(ctx context.Context, q ApplicationQuery) ([]*Application, int, error)
	Update(ctx context.Context, id uuid.UUID, fn func(*Application) error) (*Application, error)
	UpdateIfVersion(ctx context.Context, id uuid.UUID, version int64, fn func(*Application) error) (*Application, error)
	// Delete removes the application and the policy bindings on it.
	Delete(ctx context.Context, id uuid.UUID) error
}

// Providers is a tenant's single sign-on providers.
type Providers interface {
	Create(ctx context.Context, p *Provider) error
	Get(ctx context.Context, id uuid.UUID) (*Provider, error)
	GetByName(ctx context.Context, name string) (*Provider, error)
	GetByClientID(ctx context.Context, clientID string) (*Provider, error)
	List(ctx context.Context, q ObjectQuery) ([]*Provider, int, error)
	Update(ctx context.Context, id uuid.UUID, fn func(*Provider) error) (*Provider, error)
	UpdateIfVersion(ctx context.Context, id uuid.UUID, version int64, fn func(*Provider) error) (*Provider, error)
	// Delete removes the provider and its artifacts; an application using
	// it is left without a provider.
	Delete(ctx context.Context, id uuid.UUID) error
}

// Artifacts holds single sign-on artifacts.
type Artifacts interface {
	Create(ctx context.Context, a *Artifact) error
	// GetByKey finds an artifact of kind by the hash of its secret,
	// consumed and expired ones included (callers tell replay from unknown).
	GetByKey(ctx context.Context, kind string, hash []byte) (*Artifact, error)
	GetByAltKey(ctx context.Context, kind, alt string) (*Artifact, error)
	Get(ctx context.Context, id uuid.UUID) (*Artifact, error)
	// Consume marks a live artifact used; ErrConflict if it already was,
	// so of two concurrent redemptions exactly one wins.
	Consume(ctx context.Context, id uuid.UUID, at time.Time) error
	// ConsumeGrant revokes every live artifact of a grant.
	ConsumeGrant(ctx context.Context, grantID uuid.UUID, at time.Time) (int, error)
	// ConsumeSession revokes every live artifact issued in a session.
	ConsumeSession(ctx context.Context, sessionID uuid.UUID, at time.Time) (int, error)
	// ConsumeForUser revokes every live artifact of a user except those
	// issued in the session keep (uuid.Nil keeps none).
	ConsumeForUser(ctx context.Context, userID, keep uuid.UUID, at time.Time) (int, error)
	// SetData replaces the data of a live artifact (device code approval).
	SetData(ctx context.Context, id uuid.UUID, userID uuid.NullUUID, data json.RawMessage) error
	ListForUser(ctx context.Context, userID uuid.UUID, kind string) ([]*Artifact, error)
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}
