package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	gapp "github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func init() {
	register(command{name: "app create", summary: "create an application with an OpenID Connect provider", run: runAppCreate})
	register(command{name: "app list", summary: "list applications", run: runAppList})
	register(command{name: "app show", summary: "show an application's client settings (and secret)", run: runAppShow})
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

var appFlags = map[string]string{"name": "--name", "slug": "--slug", "launch_url": "--launch-url",
	"redirect_uris": "--redirect-uri", "client_type": "--public", "url": "--redirect-uri", "signing_key": "--signing-key"}

func runAppCreate(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("app create", "--name NAME --slug SLUG --redirect-uri URL [flags]",
		"Create an application with an OAuth2/OpenID Connect provider, using the default authorization flow,\n"+
			"signing key and scope mappings (openid, profile, email, offline_access). Prints the issuer,\n"+
			"client ID and client secret for the relying party.")
	name := fs.String("name", "", "display name of the application and provider (required)")
	slug := fs.String("slug", "", "URL slug: the issuer is <url>/application/o/<slug>/ (required)")
	launch := fs.String("launch-url", "", "where the user portal sends users, e.g. http://localhost:8000/")
	public := fs.Bool("public", false, "a public client (no secret; PKCE required), e.g. a single-page app")
	var redirects, logouts listFlag
	fs.Var(&redirects, "redirect-uri", "allowed redirect URI, exact match (repeatable)")
	fs.Var(&logouts, "post-logout-redirect-uri", "allowed post-logout redirect URI (repeatable)")
	signingKey := fs.String("signing-key", "", "name of the key that signs tokens (default: the tenant's RS256 key; see 'key generate')")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *slug == "" {
		return usagef("--name and --slug are required")
	}
	for _, u := range append(append([]string{}, redirects...), logouts...) {
		if p, err := url.Parse(u); err != nil || p.Scheme == "" || p.Host == "" {
			return usagef("--redirect-uri: %q is not an absolute URL", u)
		}
	}
	return a.withFullScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		n := gapp.NewOAuth2App{Name: *name, Slug: *slug, LaunchURL: *launch, RedirectURIs: redirects, PostLogoutRedirectURIs: logouts}
		if *signingKey != "" {
			var err error
			if n.SigningKey, err = keyID(ctx, sc, *signingKey); err != nil {
				return usagef("--signing-key: no key %q", *signingKey)
			}
		}
		if *public {
			n.ClientType = "public"
		}
		c, err := x.full.CreateOAuth2App(ctx, sc, cliActor, n)
		if err != nil {
			return describe(err, appFlags)
		}
		if len(redirects) == 0 {
			fmt.Fprintln(a.stderr, "note: no --redirect-uri given; browser logins need one (machine-to-machine and device logins work without)")
		}
		if c.ClientSecret == "" {
			fmt.Fprintf(a.stderr, "created application %s (a public client: no secret)\n", c.App.Slug)
		} else {
			fmt.Fprintf(a.stderr, "created application %s; the client secret is shown again by 'gatehouse app show --slug %s --secret'\n",
				c.App.Slug, c.App.Slug)
		}
		printClient(a, c.Issuer, c.ClientID, c.ClientSecret)
		return nil
	})
}

// printClient prints the relying party's settings in .env form, the shape
// the seed's FastAPI demo reads. The issuer is printed exactly as
// discovery states it: strict clients refuse discovery when the
// configured issuer differs by as much as the trailing slash, and the
// seed's demo strips it itself before adding the discovery path.
func printClient(a *cli, issuer, id, secret string) {
	fmt.Fprintf(a.stdout, "AUTHENTIK_ISSUER=%s\nOIDC_CLIENT_ID=%s\n", issuer, id)
	if secret != "" {
		fmt.Fprintf(a.stdout, "OIDC_CLIENT_SECRET=%s\n", secret)
	}
}

func runAppList(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("app list", "[flags]", "List applications with their provider's client ID.")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	return a.withScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SLUG\tNAME\tPROVIDER\tCLIENT ID")
		for page := 1; ; page++ {
			apps, total, err := sc.Applications().List(ctx, store.ApplicationQuery{Page: store.Page{Number: page, Size: store.MaxPageSize}})
			if err != nil {
				return err
			}
			for _, ap := range apps {
				kind, clientID := "-", "-"
				if ap.ProviderID.Valid {
					if p, err := sc.Providers().Get(ctx, ap.ProviderID.UUID); err == nil {
						kind, clientID = p.Kind, p.ClientID
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ap.Slug, ap.Name, kind, clientID)
			}
			if page*store.MaxPageSize >= total || len(apps) == 0 {
				break
			}
		}
		return tw.Flush()
	})
}

func runAppShow(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("app show", "--slug SLUG [--secret]", "Print an application's issuer and client ID, and with --secret its client secret.")
	slug := fs.String("slug", "", "the application's slug (required)")
	secret := fs.Bool("secret", false, "also print the client secret (recorded as a secret_view event)")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *slug == "" {
		return usagef("--slug is required")
	}
	return a.withFullScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		ap, err := sc.Applications().GetBySlug(ctx, *slug)
		if errors.Is(err, store.ErrNotFound) {
			return usagef("--slug: no application %q", *slug)
		} else if err != nil {
			return err
		}
		if !ap.ProviderID.Valid {
			return usagef("--slug: application %q has no provider", *slug)
		}
		p, err := sc.Providers().Get(ctx, ap.ProviderID.UUID)
		if err != nil {
			return err
		}
		if p.Kind != oauth2.Kind {
			return usagef("--slug: application %q has a %s provider, not OAuth2", *slug, p.Kind)
		}
		sec := ""
		if *secret {
			if sec, err = x.full.OAuth2Secret(sc, p); err != nil {
				return err
			}
			x.record(ctx, sc, &store.Event{Action: "secret_view", App: ap.Slug, Context: map[string]any{"provider": p.Name}})
		}
		issuer, err := x.full.OAuth2Issuer(p, ap.Slug)
		if err != nil {
			return err
		}
		printClient(a, issuer, p.ClientID, sec)
		return nil
	})
}
