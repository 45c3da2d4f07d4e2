package oauth2

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Cross-origin access (CORS) to the provider is decided here and nowhere
// else: Mount wraps every endpoint a browser app may call in withCORS,
// which answers preflights and adds the headers to actual responses.
// docs/security.md, "OAuth 2.0 errors and CORS", states the rule.

// corsPolicy says who may read an endpoint's answers from another origin.
type corsPolicy int

const (
	// corsPublic is for public documents (discovery, JWKS): any origin.
	corsPublic corsPolicy = iota + 1
	// corsClient is for the endpoints a client calls with a token or its
	// credentials: only the origins of the client's redirect URIs, as
	// Authentik does.
	corsClient
)

const (
	// corsAllowHeaders are what a browser app sends: a bearer token or
	// Basic client credentials, and the form's content type.
	corsAllowHeaders = "Authorization, Content-Type"
	// corsMaxAge lets a browser reuse a preflight for ten minutes; an
	// origin removed from a provider stops working at the latest then
	// for preflights, and at once for the responses themselves.
	corsMaxAge = "600"
)

// withCORS wraps an endpoint that answers methods. The policy's origins
// may read its responses; OPTIONS is answered here, never by h.
//
// A preflight (and an error answered before the client is known) cannot
// tell which client is calling: the token, revocation and introspection
// endpoints learn it from the body, which a preflight does not carry. So
// a preflight is allowed for any origin registered by a provider of the
// tenant, and the actual response carries Access-Control-Allow-Origin only
// for an origin of the client the request turned out to be for
// (knownClient). Errors that come before the client is known say nothing
// about any client and follow the preflight's rule, so a browser app can
// read why its request failed.
func (s *Service) withCORS(p corsPolicy, methods []string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if p == corsClient {
			w.Header().Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			s.preflight(w, r, p, methods, origin)
			return
		}
		switch {
		case origin == "":
			h(w, r)
		case p == corsPublic:
			w.Header().Set("Access-Control-Allow-Origin", "*")
			h(w, r)
		default:
			st := &corsRequest{}
			r = r.WithContext(context.WithValue(r.Context(), corsKey{}, st))
			h(&corsWriter{ResponseWriter: w, decide: func(status int) bool {
				if st.client != nil {
					return st.client.allowsOrigin(webOrigin(origin))
				}
				return status >= http.StatusBadRequest && s.tenantAllowsOrigin(r.Context(), origin)
			}, origin: origin}, r)
		}
	})
}

// preflight answers an OPTIONS request. A plain OPTIONS (no Origin or no
// Access-Control-Request-Method) learns the methods; a preflight from an
// origin that may not call gets 403 and no CORS headers, with a line that
// says why for the developer reading the browser's network log.
func (s *Service) preflight(w http.ResponseWriter, r *http.Request, p corsPolicy, methods []string, origin string) {
	h := w.Header()
	h.Set("Allow", strings.Join(append(slices.Clone(methods), http.MethodOptions), ", "))
	method := r.Header.Get("Access-Control-Request-Method")
	if origin == "" || method == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	allowed := "*"
	if p == corsClient {
		allowed = origin
		if !s.tenantAllowsOrigin(r.Context(), origin) {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte("CORS: the origin " + clip(origin) + " is not the origin of a redirect URI registered with an " +
				"OAuth2 provider of this tenant; register the application's redirect URI on that origin.\n"))
			return
		}
	}
	if !slices.Contains(methods, method) {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMethodNotAllowed)
		w.Write([]byte("CORS: this endpoint answers " + strings.Join(methods, " and ") + ", not " + clip(method) + ".\n"))
		return
	}
	h.Set("Access-Control-Allow-Origin", allowed)
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

type corsKey struct{}

// corsRequest is what an endpoint learns about its request that decides
// whether its response may be read cross-origin.
type corsRequest struct{ client *client }

// knownClient records the client request r turned out to be for: the
// response may then be read only from that client's origins.
func knownClient(r *http.Request, c *client) {
	if st, ok := r.Context().Value(corsKey{}).(*corsRequest); ok {
		st.client = c
	}
}

// corsWriter adds Access-Control-Allow-Origin when the status goes out,
// by which time the handler has said whose response it is.
type corsWriter struct {
	http.ResponseWriter
	decide func(status int) bool
	origin string
	wrote  bool
}

func (cw *corsWriter) WriteHeader(status int) {
	if !cw.wrote {
		cw.wrote = true
		if cw.decide(status) {
			h := cw.Header()
			h.Set("Access-Control-Allow-Origin", cw.origin)
			// A browser app reads invalid_token from it to know it must refresh.
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		}
	}
	cw.ResponseWriter.WriteHeader(status)
}

func (cw *corsWriter) Write(b []byte) (int, error) {
	if !cw.wrote {
		cw.WriteHeader(http.StatusOK)
	}
	return cw.ResponseWriter.Write(b)
}

func (cw *corsWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// allowsOrigin reports whether origin (as webOrigin gives it) is the
// origin of one of c's strict redirect URIs. Regex entries name no origin.
func (c *client) allowsOrigin(origin string) bool {
	return origin != "" && slices.ContainsFunc(c.cfg.RedirectURIs, func(r RedirectURI) bool {
		return r.MatchingMode != "regex" && webOrigin(r.URL) == origin
	})
}

// webOrigin is the origin of an http(s) URL as browsers serialize it in
// the Origin header (RFC 6454 §6.2): lower-case scheme and host, the port
// only when it is not the scheme's default. Other URLs have no web origin
// ("").
func webOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return ""
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		return u.Scheme + "://" + net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host
}

// tenantOrigins caches, per tenant, the origins of every strict redirect
// URI of its OAuth2 providers: what a preflight is judged by.
type tenantOrigins struct {
	mu sync.Mutex
	m  map[uuid.UUID]originSet
}

type originSet struct {
	set map[string]bool
	at  time.Time
}

// tenantAllowsOrigin reports whether origin is the origin of a redirect
// URI of any OAuth2 provider of the request's tenant. A store failure
// allows nothing (and is logged): the response stays readable only
// same-origin.
func (s *Service) tenantAllowsOrigin(ctx context.Context, origin string) bool {
	o := webOrigin(origin)
	if o == "" {
		return false
	}
	sc := s.Store.Scope(httpx.From(ctx).Tenant.ID)
	t := &s.origins
	now := s.Now()
	t.mu.Lock()
	cur, ok := t.m[sc.TenantID()]
	t.mu.Unlock()
	if !ok || now.Sub(cur.at) >= docTTL {
		set, err := loadOrigins(ctx, sc)
		if err != nil {
			s.logError(ctx, "oauth2: loading the tenant's CORS origins", err)
			return false
		}
		cur = originSet{set: set, at: now}
		t.mu.Lock()
		if t.m == nil || len(t.m) > 10_000 {
			t.m = map[uuid.UUID]originSet{}
		}
		t.m[sc.TenantID()] = cur
		t.mu.Unlock()
	}
	return cur.set[o]
}

// forget drops a tenant's cached origins after an admin edit.
func (t *tenantOrigins) forget(tenant uuid.UUID) {
	t.mu.Lock()
	delete(t.m, tenant)
	t.mu.Unlock()
}

func loadOrigins(ctx context.Context, sc store.Scope) (map[string]bool, error) {
	set := map[string]bool{}
	for page := 1; ; page++ {
		list, total, err := sc.Providers().List(ctx, store.ObjectQuery{Kind: Kind,
			Page: store.Page{Number: page, Size: store.MaxPageSize}})
		if err != nil {
			return nil, err
		}
		for _, p := range list {
			var cfg struct {
				RedirectURIs []RedirectURI `json:"redirect_uris"`
			}
			if json.Unmarshal(p.Config, &cfg) != nil {
				continue
			}
			for _, r := range cfg.RedirectURIs {
				if o := webOrigin(r.URL); o != "" && r.MatchingMode != "regex" {
					set[o] = true
				}
			}
		}
		if page*store.MaxPageSize >= total || len(list) == 0 {
			return set, nil
		}
	}
}
