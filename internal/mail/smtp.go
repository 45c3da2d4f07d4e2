package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/gatehouse-id/gatehouse/internal/config"
)

// defaultTimeout applies when the configuration has none (config.Defaults
// sets 10 s; a zero value only comes from code that built its own Email).
const defaultTimeout = 10 * time.Second

// SMTP sends mail through the configured SMTP server, one connection per
// message: Gatehouse sends a few messages a minute, and a fresh connection
// never trips over a server that silently dropped an idle one.
type SMTP struct {
	cfg config.Email
	tls *tls.Config
}

var _ Sender = (*SMTP)(nil)

// Option configures an SMTP sender.
type Option func(*SMTP)

// WithTLSConfig sets the TLS configuration for STARTTLS and implicit TLS,
// for a private CA (RootCAs) or tests. Its ServerName defaults to the
// configured host.
func WithTLSConfig(c *tls.Config) Option {
	return func(s *SMTP) { s.tls = c }
}

// NewSMTP makes a sender from the email configuration.
func NewSMTP(cfg config.Email, opts ...Option) *SMTP {
	s := &SMTP{cfg: cfg}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Send delivers m, or returns why not. It never falls back to a weaker
// setting than configured: with use_tls a server without STARTTLS is an
// error, and a password is only sent over TLS (or to localhost).
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	c, stop, err := s.client(ctx)
	if err != nil {
		return s.fail(err)
	}
	defer stop()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		if ctx.Err() != nil {
			// The connection was closed under the conversation; say why
			// instead of "use of closed network connection".
			return s.fail(fmt.Errorf("%w (%v)", ctx.Err(), err))
		}
		return s.fail(err)
	}
	return nil
}

// build turns a validated message into a MIME message: text/plain alone,
// or multipart/alternative with the HTML part last (the preferred one).
func (s *SMTP) build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if hasControl(s.cfg.From) {
		return nil, fmt.Errorf("mail: sender %q (email.from) contains a line break", s.cfg.From)
	}
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("mail: sender %q (email.from) is not an email address: %w", s.cfg.From, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, invalid("%v", err)
	}
	msg.Subject(m.Subject)
	msg.SetUserAgent("Gatehouse")
	// RFC 3834: vacation responders must not answer automatic mail.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// client configures a go-mail client for one delivery. The returned stop
// must be called after sending.
func (s *SMTP) client(ctx context.Context) (*gomail.Client, func(), error) {
	timeout := s.cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.tls != nil {
		tlsConf = s.tls.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = s.cfg.Host
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tlsConf),
	}
	switch {
	case s.cfg.UseSSL:
		opts = append(opts, gomail.WithSSL())
	case s.cfg.UseTLS:
		// Mandatory, not opportunistic: a man in the middle can strip
		// STARTTLS from the server's greeting.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		// PLAIN or LOGIN, whichever the server offers; go-mail refuses
		// both on an unencrypted connection to anything but localhost.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	// Our own dialer, so that ctx (a job's timeout, a shutdown) also ends
	// the conversation after the dial: go-mail alone only honours it while
	// connecting. With it, go-mail leaves implicit TLS to us.
	var mu sync.Mutex
	var stops []func() bool
	opts = append(opts, gomail.WithDialContextFunc(func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if s.cfg.UseSSL {
			conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		stops = append(stops, context.AfterFunc(ctx, func() { conn.Close() }))
		mu.Unlock()
		return conn, nil
	}))
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, nil, err
	}
	stop := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range stops {
			f()
		}
	}
	return c, stop, nil
}

// fail wraps a delivery error with the server it concerns and, for the
// mistakes admins make most, what to change. The text ends up in the logs
// and the job list; it never contains the password.
func (s *SMTP) fail(err error) error {
	mode := "plain SMTP"
	switch {
	case s.cfg.UseSSL:
		mode = "implicit TLS"
	case s.cfg.UseTLS:
		mode = "STARTTLS"
	}
	msg := fmt.Sprintf("mail: send via %s (%s): %v", net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)), mode, err)
	if h := s.hint(err); h != "" {
		msg += " (" + h + ")"
	}
	return &sendError{msg: msg, err: err}
}

type sendError struct {
	msg string
	err error
}

func (e *sendError) Error() string { return e.msg }
func (e *sendError) Unwrap() error { return e.err }

// Hints for the usual misconfigurations, matched on go-mail's and the
// standard library's error texts. docs/email.md quotes them.
const (
	hintAuthAfterTLS = "hint: the server offers no AUTH on this connection; many offer it only after STARTTLS: set email.use_tls=true, or clear email.username for a relay without authentication"
	hintNoSTARTTLS   = "hint: the server does not offer STARTTLS: if it expects TLS from the first byte (usually port 465) set email.use_ssl=true instead; only for a trusted local relay set email.use_tls=false"
	hintNotTLS       = "hint: the server does not speak TLS on this port: for port 587 or 25 set email.use_tls=true and email.use_ssl=false"
	hintUnencrypted  = "hint: refusing to send the password over an unencrypted connection: set email.use_tls=true (STARTTLS) or email.use_ssl=true (implicit TLS)"
	hintAuthFailed   = "hint: the server rejected email.username/email.password; some providers need an app password"
	hintCertificate  = "hint: the server's certificate is not trusted for this host name: check email.host, or add the issuing CA to the system trust store"
	hintImplicitTLS  = "hint: port 465 expects TLS from the first byte: set email.use_ssl=true and email.use_tls=false"
	hintNoGreeting   = "hint: the connection opened but no SMTP greeting came within email.timeout: if this port expects TLS from the first byte set email.use_ssl=true, otherwise check that email.port is an SMTP port"
	hintUnreachable  = "hint: nothing answers at email.host and email.port; check the host name, the port and firewalls"
)

func (s *SMTP) hint(err error) string {
	text := err.Error()
	var certErr *tls.CertificateVerificationError
	switch {
	case strings.Contains(text, "server does not support SMTP AUTH"):
		if !s.cfg.UseTLS && !s.cfg.UseSSL {
			return hintAuthAfterTLS
		}
	case strings.Contains(text, "does not support STARTTLS"):
		return hintNoSTARTTLS
	case strings.Contains(text, "first record does not look like a TLS handshake"):
		return hintNotTLS
	case strings.Contains(text, "unencrypted connection"):
		return hintUnencrypted
	case strings.Contains(text, "SMTP AUTH failed: 535"):
		return hintAuthFailed
	case errors.As(err, &certErr), strings.Contains(text, "x509:"):
		return hintCertificate
	case strings.Contains(text, "i/o timeout") && s.cfg.Port == 465 && !s.cfg.UseSSL:
		return hintImplicitTLS
	case strings.Contains(text, "i/o timeout") && strings.Contains(text, "read tcp") && !s.cfg.UseSSL:
		// Connected (a dial timeout says "dial tcp"), then silence.
		return hintNoGreeting
	case strings.Contains(text, "connection refused"), strings.Contains(text, "no such host"),
		strings.Contains(text, "i/o timeout"):
		return hintUnreachable
	}
	return ""
}
