// Package mailtest is a real SMTP server (go-smtp) for tests, and helpers to
// read what it received: the decoded MIME parts of a message and the link a
// reader would follow.
//
// It must not import internal/mail: the mail package's own tests use it.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-id/gatehouse/internal/config"
)

// Options shapes a test SMTP server.
type Options struct {
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

// Received is one message the server accepted.
type Received struct {
	From string
	To   []string
	Raw  []byte
}

// Server is a real SMTP server (go-smtp) that keeps what it receives.
type Server struct {
	Host  string
	Port  int
	Roots *x509.CertPool // trusts the server's self-signed certificate; nil without TLS

	t       testing.TB
	opts    Options
	mu      sync.Mutex
	msgs    []Received
	refused int
	arrived chan struct{}
}

// Start starts a server on a free port of o.ListenHost and stops it when
// the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.ListenHost == "" {
		o.ListenHost = "127.0.0.1"
	}
	ts := &Server{t: t, Host: o.ListenHost, opts: o, arrived: make(chan struct{}, 100)}
	l, err := net.Listen("tcp", net.JoinHostPort(o.ListenHost, "0"))
	if err != nil {
		t.Fatal(err)
	}
	ts.Port = l.Addr().(*net.TCPAddr).Port
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{ts: ts}, nil }))
	s.Domain = "mx.test"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.AllowInsecureAuth = o.InsecureAuth
	s.ErrorLog = log.New(io.Discard, "", 0) // clients hanging up on purpose are not news
	if o.STARTTLS || o.ImplicitTLS {
		cert, roots := selfSigned(t, o.ListenHost)
		ts.Roots = roots
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		if o.ImplicitTLS {
			l = tls.NewListener(l, s.TLSConfig)
		}
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return ts
}

// Config returns an Email configuration pointing at the server. A sender
// must trust Roots to speak TLS to it.
func (ts *Server) Config() config.Email {
	return config.Email{
		Host: ts.Host, Port: ts.Port, Timeout: 5 * time.Second, From: "Gatehouse <noreply@id.example.com>",
		UseTLS: ts.opts.STARTTLS, UseSSL: ts.opts.ImplicitTLS,
		Username: ts.opts.Username, Password: ts.opts.Password,
	}
}

// Messages returns the messages accepted so far, oldest first.
func (ts *Server) Messages() []Received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]Received(nil), ts.msgs...)
}

// Wait returns the n-th message (from 1) once it has arrived, failing the
// test if it does not arrive within ten seconds.
func (ts *Server) Wait(n int) Received {
	ts.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if m := ts.Messages(); len(m) >= n {
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
	ts     *Server
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
	s.ts.msgs = append(s.ts.msgs, Received{From: s.from, To: s.to, Raw: raw})
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

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// ExtractLink returns the first http(s) link in the plain-text part of a
// raw message as an SMTP server received it, or "" if there is none. It
// decodes MIME properly (quoted-printable wraps long links with soft line
// breaks), so flow tests can follow verification and reset links the way a
// reader would.
func ExtractLink(raw []byte) string {
	parts, err := MIMEParts(raw)
	if err != nil {
		return ""
	}
	return linkPattern.FindString(parts["text/plain"])
}

// MIMEParts decodes a raw message into its leaf parts, keyed by media type
// ("text/plain", "text/html"); later parts of the same type are dropped.
func MIMEParts(raw []byte) (map[string]string, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = walkPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, out)
	return out, err
}

func walkPart(contentType, encoding string, body io.Reader, out map[string]string) error {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		media = "text/plain" // RFC 2045's default
	}
	if strings.HasPrefix(media, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart() // raw: we decode transfer encodings ourselves
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, out); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if _, seen := out[media]; !seen {
		out[media] = string(b)
	}
	return nil
}

// newlineStripper drops the line breaks base64 bodies are wrapped with.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
