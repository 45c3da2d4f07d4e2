// Package httpx carries what the server learns about an HTTP request (its
// ID, the client's address, the tenant, the trusted bases of links) to the
// packages that handle it, and holds the few helpers they share: response
// writers (problem JSON, plain JSON) and readers of the request (its
// language, whether another site started it). It is a leaf: the server
// fills it in, web/api/provider packages read it, and none of them has to
// import the server.
//
// The part of Info that is not HTTP's (reqinfo.Origin) lives apart, so
// that the audit log and the flow engine, which must also serve requests
// that are not HTTP, need not import this package.
package httpx

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Info is request-scoped and filled by the server's outer middleware before
// any handler runs.
type Info struct {
	// Origin is the part any transport has: the request ID, the client's
	// address and user agent, method and path, the impersonator. WithInfo
	// also puts it in the context on its own (reqinfo.From).
	reqinfo.Origin
	// Secure is true when the client reached us over TLS, directly or
	// through a trusted proxy that says so.
	Secure bool
	// Host is the request host without port, lower-case.
	Host string
	// BaseURL is where this server says it is in its answer to this
	// request (the OIDC issuer and endpoints, the device verification
	// URI): external_url when configured, else the scheme and host the
	// client used. It follows the Host header, which the client chooses,
	// so it is only for the requester's own eyes: never for a link that
	// is stored or sent to someone else.
	BaseURL string
	// PublicURL is the base of links that leave the request: emails,
	// notifications, anything stored for later. It is external_url when
	// configured; else BaseURL when the host is a tenant's domain or a
	// loopback name; else empty, and such a link must not be made (the
	// server's links.go has the rule, docs/security.md explains it).
	PublicURL string
	Tenant    *store.Tenant
}

type infoKey struct{}

// WithInfo returns ctx carrying info, and its Origin for the packages
// that know no HTTP (the same memory: a change through one shows in the
// other).
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(reqinfo.With(ctx, &info.Origin), infoKey{}, info)
}

// From returns the request's Info; never nil (an empty Info outside the server, e.g. in unit tests).
func From(ctx context.Context) *Info {
	if i, ok := ctx.Value(infoKey{}).(*Info); ok {
		return i
	}
	return &Info{}
}

// Problem is an RFC 9457 problem document, with per-field errors for forms
// and API writes.
type Problem struct {
	Type      string             `json:"type,omitempty"`
	Title     string             `json:"title"`
	Status    int                `json:"status"`
	Detail    string             `json:"detail,omitempty"`
	Errors    []store.FieldError `json:"errors,omitempty"`
	RequestID string             `json:"request_id,omitempty"`
}

// WriteProblem writes p as application/problem+json.
func WriteProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	p.RequestID = From(r.Context()).RequestID
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// CrossSite reports whether a browser says another page than one of this
// origin started the request: Sec-Fetch-Site other than same-origin or
// none (none is the user's own typing, bookmark or reload); without it,
// an Origin or else a Referer naming another host. A request with none of
// these headers did not come from a browser made since 2023, and is not
// reported, as net/http's CrossOriginProtection lets it through.
//
// It guards state changes that a GET can ask for (logging out), where the
// CSRF token of a form cannot.
func CrossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default:
		return true
	}
	for _, h := range []string{"Origin", "Referer"} {
		if v := r.Header.Get(h); v != "" {
			u, err := url.Parse(v)
			return err != nil || !strings.EqualFold(u.Host, r.Host)
		}
	}
	return false
}

// Lang is the UI language of r: i18n.Negotiate with what r states (the
// ?locale= or ?ui_locales= query, the language cookie, Accept-Language).
func Lang(r *http.Request) i18n.Lang {
	q := r.URL.Query()
	query := q.Get(i18n.QueryParam)
	if query == "" {
		query = q.Get(i18n.UILocalesParam)
	}
	var cookie string
	if c, err := r.Cookie(i18n.CookieName); err == nil {
		cookie = c.Value
	}
	return i18n.Negotiate(r.Header.Get("Accept-Language"), cookie, query)
}
