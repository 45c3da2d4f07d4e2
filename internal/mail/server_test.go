package mail

import (
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/mail/mailtest"
)

// sender is an SMTP sender that trusts the test server's certificate.
func sender(ts *mailtest.Server, cfg config.Email) *SMTP {
	return NewSMTP(cfg, WithTLSConfig(&tls.Config{RootCAs: ts.Roots}))
}

// silentListener accepts connections and never says a word, like a
// firewall that drops packets or a server that hangs.
func silentListener(t testing.TB) (host string, port int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	h, p, _ := net.SplitHostPort(l.Addr().String())
	n, _ := strconv.Atoi(p)
	return h, n
}

// closedPort returns a local port nobody listens on.
func closedPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
