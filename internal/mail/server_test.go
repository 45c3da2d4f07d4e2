package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-id/gatehouse/internal/config"
)

// serverOptions shapes a test SMTP server.
type serverOptions struct {
	// STARTTLS offers STARTTLS; ImplicitTLS speaks TLS from the first byte.
	STARTTLS, ImplicitTLS bool
	// Username and Password, when set, require AUTH (PLAIN or LOGIN)
	// before MAIL FROM.
	Username, Password string
	// Mechanisms offered for AUTH; PLAIN and LOGIN by default.
	Mechanisms []string
	// InsecureAuth offers AUTH before TLS, as some local relays do.
	InsecureAuth bool
	// TempFailures answers the first n messages with 451 after DATA.
	TempFailures int
	// ListenHost defaults to 127.0.0.1.
	ListenHost string
}

// received is one message the server accepted.
type received struct {
	From string
	To   []string
	Raw  []byte
}

// testServer is a real SMTP server (go-smtp) that keeps what it receives.
type testServer struct {
	t       testing.TB
	host    string
	port    int
	roots   *x509.CertPool // trusts the server's self-signed certificate
	opts    serverOptions
	mu      sync.Mutex
	msgs    []received
	refused int
	arrived chan struct{}
}

func startServer(t testing.TB, o serverOptions) *testServer {
	t.Helper()
	if o.ListenHost == "" {
		o.ListenHost = "127.0.0.1"
	}
	ts := &testServer{t: t, host: o.ListenHost, opts: o, arrived: make(chan struct{}, 100)}
	l, err := net.Listen("tcp", net.JoinHostPort(o.ListenHost, "0"))
	if err != nil {
		t.Fatal(err)
	}
	ts.port = l.Addr().(*net.TCPAddr).Port
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{ts: ts}, nil }))
	s.Domain = "mx.test"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.AllowInsecureAuth = o.InsecureAuth
	s.ErrorLog = log.New(io.Discard, "", 0) // clients hanging up on purpose are not news
	if o.STARTTLS || o.ImplicitTLS {
		cert, roots := selfSigned(t, o.ListenHost)
		ts.roots = roots
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		if o.ImplicitTLS {
			l = tls.NewListener(l, s.TLSConfig)
		}
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return ts
}

// config returns an Email configuration pointing at the server.
func (ts *testServer) config() config.Email {
	return config.Email{
		Host: ts.host, Port: ts.port, Timeout: 5 * time.Second, From: "Gatehouse <noreply@id.example.com>",
		UseTLS: ts.opts.STARTTLS, UseSSL: ts.opts.ImplicitTLS,
		Username: ts.opts.Username, Password: ts.opts.Password,
	}
}

// sender is an SMTP sender that trusts the server's certificate.
func (ts *testServer) sender(cfg config.Email) *SMTP {
	return NewSMTP(cfg, WithTLSConfig(&tls.Config{RootCAs: ts.roots}))
}

func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

// wait returns the n-th message (from 1) once it has arrived.
func (ts *testServer) wait(n int) received {
	ts.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if m := ts.messages(); len(m) >= n {
			return m[n-1]
		}
		select {
		case <-ts.arrived:
		case <-deadline:
			ts.t.Fatalf("message %d did not arrive at the test SMTP server", n)
		}
	}
}

type session struct {
	ts     *testServer
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string {
	if s.ts.opts.Username == "" {
		return nil
	}
	if s.ts.opts.Mechanisms != nil {
		return s.ts.opts.Mechanisms
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(username, password string) error {
		if username != s.ts.opts.Username || password != s.ts.opts.Password {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, username, password string) error { return check(username, password) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnsupported
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.ts.opts.Username != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	if s.ts.refused < s.ts.opts.TempFailures {
		s.ts.refused++
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Mailbox temporarily unavailable, try again later"}
	}
	s.ts.msgs = append(s.ts.msgs, received{From: s.from, To: s.to, Raw: raw})
	select {
	case s.ts.arrived <- struct{}{}:
	default:
	}
	return nil
}

// loginServer is the server side of the obsolete but common LOGIN
// mechanism, which go-sasl only implements for clients.
type loginServer struct {
	step  int
	user  string
	check func(username, password string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch {
	case l.step == 1 && resp == nil:
		return []byte("Username:"), false, nil
	case l.step == 1, l.step == 2 && l.user == "":
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case l.step == 3:
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected LOGIN step")
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for host and a pool that trusts it.
func selfSigned(t testing.TB, host string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gatehouse test SMTP"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
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
