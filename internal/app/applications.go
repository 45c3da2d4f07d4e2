package app

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// NewOAuth2App is an application with an OAuth2/OpenID Connect provider,
// what the seed's walkthrough creates in two admin pages.
type NewOAuth2App struct {
	Name, Slug, LaunchURL string
	// ClientType is confidential (default) or public.
	ClientType             string
	RedirectURIs           []string // strict matches
	PostLogoutRedirectURIs []string
	// SigningKey names a key pair; Nil means the tenant's default key.
	SigningKey uuid.UUID
}

// OAuth2AppCreated holds what the relying party needs; ClientSecret is
// only here once (and shown again on request with `app show --secret`).
type OAuth2AppCreated struct {
	App                    *store.Application
	Provider               *store.Provider
	ClientID, ClientSecret string
	Issuer                 string
}

// CreateOAuth2App stores the provider and the application in one
// transaction, as actor, through the domain layer, with the tenant's
// default flows, signing key and scope mappings, so a failure on either
// leaves nothing behind.
func (a *App) CreateOAuth2App(ctx context.Context, sc store.Scope, actor *core.Actor, n NewOAuth2App) (*OAuth2AppCreated, error) {
	keyID := n.SigningKey
	if keyID == uuid.Nil {
		key, err := a.svc.keys.EnsureDefault(ctx, sc)
		if err != nil {
			return nil, err
		}
		keyID = key.ID
	} else if _, err := a.svc.keys.Signer(ctx, sc, keyID); err != nil {
		return nil, store.Invalid("signing_key", "must name a key pair with a private key")
	}
	defs, err := oauth2.LoadTenantDefaults(ctx, sc, keyID)
	if err != nil {
		return nil, err
	}
	cfg := oauth2.Defaults()
	if n.ClientType != "" {
		cfg.ClientType = n.ClientType
	}
	cfg.RedirectURIs = []oauth2.RedirectURI{}
	for _, u := range n.RedirectURIs {
		cfg.RedirectURIs = append(cfg.RedirectURIs, oauth2.RedirectURI{MatchingMode: "strict", URL: u})
	}
	for _, u := range n.PostLogoutRedirectURIs {
		cfg.RedirectURIs = append(cfg.RedirectURIs, oauth2.RedirectURI{MatchingMode: "strict", URL: u, Type: "logout"})
	}
	created, err := oauth2.BuildProvider(sc, a.svc.box, defs, oauth2.NewProvider{Name: n.Name, Config: &cfg})
	if err != nil {
		return nil, err
	}
	w := a.core.As(actor)
	var out *OAuth2AppCreated
	err = sc.Tx(ctx, func(tx store.Scope) error {
		if err := w.CreateProvider(ctx, tx, oauth2.CoreKind, created.Provider); err != nil {
			return err
		}
		app := &store.Application{Name: n.Name, Slug: n.Slug, LaunchURL: n.LaunchURL,
			ProviderID: uuid.NullUUID{UUID: created.Provider.ID, Valid: true}}
		if err := w.CreateApplication(ctx, tx, app); err != nil {
			return err
		}
		out = &OAuth2AppCreated{App: app, Provider: created.Provider, ClientID: created.ClientID,
			ClientSecret: created.ClientSecret, Issuer: oauth2.Issuer(a.PublicURL(), app.Slug, cfg.IssuerMode)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// OAuth2Secret returns a provider's client secret for an admin who asked
// to see it again ("" for public clients).
func (a *App) OAuth2Secret(sc store.Scope, p *store.Provider) (string, error) {
	if p.Kind != oauth2.Kind {
		return "", errors.New("not an OAuth2 provider")
	}
	if p.SecretEnc == "" {
		return "", nil
	}
	return oauth2.ClientSecret(a.svc.box, sc.TenantID(), p)
}

// OAuth2Issuer is the issuer of provider p serving application slug, as
// discovery states it when the server is reached at PublicURL.
func (a *App) OAuth2Issuer(p *store.Provider, slug string) (string, error) {
	cfg, err := oauth2.ParseConfig(p.Config)
	if err != nil {
		return "", err
	}
	return oauth2.Issuer(a.PublicURL(), slug, cfg.IssuerMode), nil
}

// PublicURL is where users reach the server: external_url, else the HTTP
// listener on localhost (what the seed's walkthrough uses).
func (a *App) PublicURL() string {
	if a.cfg.ExternalURL != "" {
		return a.cfg.ExternalURL
	}
	host, port, err := net.SplitHostPort(a.cfg.Listen.HTTP)
	if err != nil {
		return "http://localhost:9000"
	}
	if host == "" || host == "0.0.0.0" || host == "::" || strings.HasPrefix(host, "127.") {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// ApplyBlueprint applies bp to the tenant with the same validation the
// server uses (stage, policy, prompt and mapping settings are checked by
// the code that runs them), and announces the change with it, so every
// replica serves it at once. env is the !Env lookup (nil: none).
func (a *App) ApplyBlueprint(ctx context.Context, sc store.Scope, bp *blueprint.Blueprint, env func(string) (string, bool)) (blueprint.Result, error) {
	return blueprint.Apply(ctx, sc, bp, blueprint.Options{Env: env, Models: a.svc.blueprints, ValidateConfig: a.svc.validateConfig,
		HashPassword: func(p string) (string, error) { return a.core.Hasher.Hash(ctx, p) }, Box: a.svc.box,
		Core: a.core, Changed: a.svc.blueprintChanged})
}
