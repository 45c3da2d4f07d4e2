package flow

import (
	"context"
	"fmt"
	"strings"
)

// LinkURL turns a path into an absolute URL for a link that leaves this
// request (an emailed link, opened later, maybe on another device). It is
// built on the client's PublicURL (the server's httpx.Info.PublicURL for
// HTTP), never on the Host header as such: ok is false when the request
// came for a host nobody configured, and then no link may be sent.
// UntrustedHost reports it.
func (x *Execution) LinkURL(path string) (link string, ok bool) {
	if x.Client.PublicURL == "" {
		return "", false
	}
	return x.Client.PublicURL + path, true
}

// UntrustedHost tells the administrator that a link was not sent because
// of the request's host, and what to configure: an error in the log and a
// configuration_error event (Authentik's name for it). The user sees only
// the stage's own neutral message.
func (x *Execution) UntrustedHost(ctx context.Context, what string) {
	host := x.Client.Host
	if len(host) > 253 {
		host = host[:253]
	}
	host = strings.ToValidUTF8(host, "")
	msg := fmt.Sprintf("%s was not sent: the request came for host %q, which is not external_url, not a domain "+
		"of a tenant and not a loopback name, so a link to it could lead the reader to whoever sent the request. "+
		"Set external_url (GATEHOUSE_EXTERNAL_URL or AUTHENTIK_EXTERNAL_URL) to this server's public address, "+
		"or add this host to a tenant's domains if it is one of this server's names.", what, host)
	if x.Env.Log != nil {
		x.Env.Log.ErrorContext(ctx, "link not sent from an untrusted host", "request_id", x.Client.RequestID,
			"host", host, "flow", x.Flow.Slug, "message", msg)
	}
	x.Event(ctx, "configuration_error", nil, map[string]any{"message": msg, "host": host})
}
