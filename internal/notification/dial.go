package notification

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Option changes how New builds the service.
type Option func(*Service)

// errDeniedAddress marks a webhook refused by DeniedNetworks: retrying
// cannot help until the URL or the setting changes.
var errDeniedAddress = errors.New("address denied")

// DeniedNetworks keeps webhook and Slack deliveries away from the given
// networks (notifications.webhook_denied_cidrs). Transports are created by
// administrators, who may point them anywhere the server can reach,
// internal services included; this is for deployments that delegate that
// right and do not want it to reach inside. The address is checked when
// the connection is made, after DNS, so a name that resolves (or later
// re-resolves) into a denied network is refused too. Through an HTTP(S)
// proxy (HTTPS_PROXY), the address checked is the proxy's.
func DeniedNetworks(denied []netip.Prefix) Option {
	return func(s *Service) {
		if len(denied) == 0 {
			return
		}
		d := &net.Dialer{Timeout: WebhookTimeout, KeepAlive: 30 * time.Second,
			Control: func(_, address string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(address)
				if err != nil {
					return fmt.Errorf("%w: %s is not an IP address", errDeniedAddress, address)
				}
				for _, p := range denied {
					if p.Contains(ap.Addr().Unmap()) {
						return fmt.Errorf("%w: %s is in notifications.webhook_denied_cidrs (%s)", errDeniedAddress, ap.Addr(), p)
					}
				}
				return nil
			}}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}
		s.client.Transport = t
	}
}
