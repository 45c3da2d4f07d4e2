package flow

import "github.com/gatehouse-id/gatehouse/internal/session"

// Client describes who runs a flow and how they reached us, in the terms
// the engine needs and whatever the transport: the HTML and JSON executors
// (internal/flowhttp) fill it from the HTTP request, a front end without
// HTTP (an LDAP bind) from what it knows. A field it cannot know stays
// empty, and what depends on it does not happen (no cookie: no known
// browser; no PublicURL: no emailed link).
type Client struct {
	// RequestID names the request in logs and on the error page.
	RequestID string
	// IP is the client's address (throttles, reputation, events).
	IP        string
	UserAgent string
	// Lang is the negotiated UI language, for the emails a flow sends.
	Lang string
	// Method, Path, Host and AcceptLanguage describe the request to
	// policies (an expression's request.http_request): for HTTP the
	// method, path, host (lower-case, without port) and Accept-Language.
	Method, Path, Host, AcceptLanguage string
	// PublicURL is the trusted base of links that leave the request (an
	// emailed link): "" when none may be made (docs/security.md, "How
	// links are built").
	PublicURL string
	// Secure is true when the client reached us over TLS: cookies the
	// stages set are Secure then.
	Secure bool
	// CrossSite is true when another site started the request (a link or
	// a script on its page): a logout it asks for is confirmed first.
	CrossSite bool
	// Cookies holds the client's cookies that stages read (CookieNames),
	// by name.
	Cookies map[string]string
}

// CookieNames are the cookies stages read from Client.Cookies; a front
// end with cookies passes these.
func CookieNames() []string { return []string{DeviceCookie} }

// SetCookie has the front end send c with its answer (Result.Cookies).
func (x *Execution) SetCookie(c session.Cookie) { x.cookies = append(x.cookies, c) }
