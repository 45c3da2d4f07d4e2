package oauth2

import (
	"net/http"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// refusal is an authorization request that cannot be answered at the
// client's redirect URI: the client is unknown, or the redirect URI is
// missing or not one it registered (or the request behind a request_uri
// cannot be read), so RFC 6749 §4.1.2.1 forbids sending anything there.
type refusal struct {
	// code is the i18n message ID that explains it to the user; args are
	// its placeholders (the values at fault).
	code string
	args map[string]any
	// detail is recorded and logged but not shown: what was expected.
	detail map[string]any
}

// english is the explanation in English, for events, logs and the PAR
// endpoint's JSON.
func (rf *refusal) english() string { return i18n.T(i18n.EN, rf.code, rf.args) }

// refuse answers a refusal, the same way for every cause: a page that
// names the parameter at fault and what the administrator must register
// (in the user's language, with the request ID), a configuration_error
// event, which is what Authentik records for these requests, and a log
// line with the cause and the request ID. c is nil when the client is not
// known.
func (s *Service) refuse(w http.ResponseWriter, r *http.Request, sc store.Scope, c *client, rf *refusal) {
	msg := rf.english()
	data := map[string]any{"message": msg, "reason": rf.code}
	for _, m := range []map[string]any{rf.args, rf.detail} {
		for k, v := range m {
			data[k] = v
		}
	}
	attrs := []any{"request_id", httpx.From(r.Context()).RequestID, "reason", rf.code, "message", msg}
	if c != nil {
		attrs = append(attrs, "application", c.app.Slug)
	}
	if v, ok := rf.detail["request_uri"]; ok {
		attrs = append(attrs, "request_uri", v)
	}
	s.Log.WarnContext(r.Context(), "oauth2: authorization request refused", attrs...)
	s.event(r, sc, "configuration_error", nil, c, data)
	s.Web.Page(w, r, httpx.Lang(r), http.StatusBadRequest, web.PageError, map[string]any{
		"TitleCode": i18n.OAuth2RequestTitle, "MessageCode": rf.code, "MessageArgs": rf.args})
}

// clip shortens a value a request sent before it is shown, recorded or
// logged: it is whatever the sender chose, of any length.
func clip(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// redirectURLs lists the registered redirect URIs of type typ, for an
// administrator comparing them with what a client sent.
func (c *Config) redirectURLs(typ string) []string {
	out := []string{}
	for _, r := range c.RedirectURIs {
		if r.Type == typ {
			out = append(out, r.URL)
		}
	}
	return out
}
