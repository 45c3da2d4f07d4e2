package server

import (
	"net/http"
	"net/netip"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// setLinkBases decides, once per request, the two bases every absolute URL
// Gatehouse builds starts with (httpx.Info.BaseURL and PublicURL).
//
// The Host header is the client's to choose. Reflecting it into the answer
// to that same client harms nobody, so BaseURL follows it when no
// external_url is configured (as Authentik does for the OIDC issuer). A
// link that reaches someone else is another matter: an anonymous recovery
// request with "Host: attacker.example" would mail the victim a link to
// the attacker, carrying a working token. So PublicURL is only ever a base
// the operator vouched for:
//
//  1. external_url, when configured;
//  2. else the request's own scheme and host, when the host is a domain of
//     a tenant (an operator wrote it down);
//  3. else the same when the host is a loopback name (localhost,
//     127.0.0.0/8, ::1): such a link opens the reader's own machine, which
//     an attacker cannot receive it on, and it is how a fresh installation
//     is tried out;
//  4. else nothing: the host is untrusted and no link is made.
func (s *Server) setLinkBases(r *http.Request, info *httpx.Info) {
	scheme := "http"
	if info.Secure {
		scheme = "https"
	}
	self := scheme + "://" + r.Host
	switch {
	case s.cfg.ExternalURL != "":
		info.BaseURL, info.PublicURL = s.cfg.ExternalURL, s.cfg.ExternalURL
	case s.tenants.isDomain(info.Host) || isLoopbackName(info.Host):
		info.BaseURL, info.PublicURL = self, self
	default:
		info.BaseURL = self
	}
}

// isLoopbackName reports a host that always means the reader's own
// machine. Names under .localhost are left out: RFC 6761 reserves them,
// but not every resolver answers them locally.
func isLoopbackName(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// warnLinks says at start-up what the rule above means for a server that
// sends email without external_url: links only for requests that came for
// a tenant's domain or a loopback name, and a configuration_error event
// for the others.
func (s *Server) warnLinks() {
	if s.cfg.ExternalURL != "" || !s.cfg.Email.Configured() {
		return
	}
	s.log.Warn("email is configured but external_url is not: emailed links (password recovery, address " +
		"verification) are sent only for requests to a tenant's domain or to localhost, and refused otherwise; " +
		"set external_url (GATEHOUSE_EXTERNAL_URL or AUTHENTIK_EXTERNAL_URL) to this server's public address, " +
		"e.g. https://id.example.com")
}
