package mail

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/mail/mailtest"
)

const resetLink = "https://id.example.com/if/flow/default-recovery-flow/?flow_token=Zm9vYmFyYmF6cXV1eC0xMjM0NTY3ODkwLWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6&next=%2Fif%2Fuser%2F"

func resetMessage(t *testing.T, lang string) Message {
	t.Helper()
	m, err := Render(TemplatePasswordReset, lang, Data{Name: "Alice", Link: resetLink, Expires: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	m.To = []string{"Alice <alice@example.com>"}
	return m
}

// checkDelivered asserts the message arrived whole: envelope, headers, both
// parts, and the link a reader would follow.
func checkDelivered(t *testing.T, got mailtest.Received) {
	t.Helper()
	if got.From != "noreply@id.example.com" || strings.Join(got.To, ",") != "alice@example.com" {
		t.Errorf("envelope from %q to %v, want noreply@id.example.com to [alice@example.com]", got.From, got.To)
	}
	raw := string(got.Raw)
	for _, h := range []string{"Subject: Reset your password", "From: \"Gatehouse\" <noreply@id.example.com>",
		"To: \"Alice\" <alice@example.com>", "Content-Type: multipart/alternative", "Auto-Submitted: auto-generated"} {
		if !strings.Contains(raw, h+"\r\n") && !strings.Contains(raw, h+";") {
			t.Errorf("received message lacks header %q:\n%s", h, raw)
		}
	}
	if link := mailtest.ExtractLink(got.Raw); link != resetLink {
		t.Errorf("link in the received text part = %q, want %q", link, resetLink)
	}
	parts, err := mailtest.MIMEParts(got.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(parts["text/html"], `href="`+strings.ReplaceAll(resetLink, "&", "&amp;")+`"`) {
		t.Errorf("HTML part lacks the link as an href:\n%s", parts["text/html"])
	}
}

func TestSendPlain(t *testing.T) {
	ts := mailtest.Start(t, mailtest.Options{})
	if err := sender(ts, ts.Config()).Send(t.Context(), resetMessage(t, "en")); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, ts.Wait(1))
}

func TestSendSTARTTLS(t *testing.T) {
	ts := mailtest.Start(t, mailtest.Options{STARTTLS: true, Username: "gatehouse", Password: "s3cret"})
	if err := sender(ts, ts.Config()).Send(t.Context(), resetMessage(t, "en")); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, ts.Wait(1))

	// The certificate is checked: without the test CA, delivery fails.
	err := NewSMTP(ts.Config()).Send(t.Context(), resetMessage(t, "en"))
	if err == nil || !strings.Contains(err.Error(), hintCertificate) {
		t.Errorf("STARTTLS to an untrusted certificate = %v, want an error with the certificate hint", err)
	}
}

func TestSendSTARTTLSIsRequiredNotOpportunistic(t *testing.T) {
	ts := mailtest.Start(t, mailtest.Options{}) // no STARTTLS on offer
	cfg := ts.Config()
	cfg.UseTLS = true
	err := sender(ts, cfg).Send(t.Context(), resetMessage(t, "en"))
	if err == nil || !strings.Contains(err.Error(), "does not support STARTTLS") || !strings.Contains(err.Error(), hintNoSTARTTLS) {
		t.Errorf("use_tls against a server without STARTTLS = %v, want a STARTTLS error with a hint", err)
	}
	if n := len(ts.Messages()); n != 0 {
		t.Errorf("%d messages were sent in clear text, want none", n)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	ts := mailtest.Start(t, mailtest.Options{ImplicitTLS: true, Username: "gatehouse", Password: "s3cret"})
	if err := sender(ts, ts.Config()).Send(t.Context(), resetMessage(t, "en")); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, ts.Wait(1))

	// Implicit TLS against a plain server fails fast with a hint.
	plain := mailtest.Start(t, mailtest.Options{})
	cfg := plain.Config()
	cfg.UseSSL = true
	err := sender(plain, cfg).Send(t.Context(), resetMessage(t, "en"))
	if err == nil || !strings.Contains(err.Error(), hintNotTLS) {
		t.Errorf("use_ssl against a plain server = %v, want an error with the not-TLS hint", err)
	}
}

func TestSendAuth(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mechanisms []string
		password   string
		wantErr    string
	}{
		{"plain right password", []string{"PLAIN"}, "s3cret", ""},
		{"login right password", []string{"LOGIN"}, "s3cret", ""},
		{"plain wrong password", []string{"PLAIN", "LOGIN"}, "wrong", "535"},
		{"login wrong password", []string{"LOGIN"}, "wrong", "535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := mailtest.Start(t, mailtest.Options{STARTTLS: true, Username: "gatehouse", Password: "s3cret", Mechanisms: tc.mechanisms})
			cfg := ts.Config()
			cfg.Password = tc.password
			err := sender(ts, cfg).Send(t.Context(), resetMessage(t, "en"))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				checkDelivered(t, ts.Wait(1))
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), hintAuthFailed) {
				t.Fatalf("AUTH with a wrong password = %v, want an error containing %q and the hint", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), tc.password) {
				t.Errorf("the error reveals the password: %v", err)
			}
			if n := len(ts.Messages()); n != 0 {
				t.Errorf("%d messages delivered without authentication, want none", n)
			}
		})
	}
}

func TestSendAuthNeedsEncryptionExceptToLocalhost(t *testing.T) {
	// A relay on localhost may take a password in clear text...
	local := mailtest.Start(t, mailtest.Options{Username: "gatehouse", Password: "s3cret", InsecureAuth: true})
	if err := sender(local, local.Config()).Send(t.Context(), resetMessage(t, "en")); err != nil {
		t.Fatalf("AUTH to a relay on 127.0.0.1 without TLS: %v", err)
	}
	// ...any other host may not, even if it offers AUTH before STARTTLS.
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skip("127.0.0.2 is not a loopback address here:", err)
	}
	l.Close()
	remote := mailtest.Start(t, mailtest.Options{Username: "gatehouse", Password: "s3cret", InsecureAuth: true, ListenHost: "127.0.0.2"})
	err = sender(remote, remote.Config()).Send(t.Context(), resetMessage(t, "en"))
	if err == nil || !strings.Contains(err.Error(), hintUnencrypted) {
		t.Errorf("AUTH without TLS to a non-local host = %v, want a refusal with the hint", err)
	}
	// A server that offers AUTH only after STARTTLS gets a hint too.
	tlsOnly := mailtest.Start(t, mailtest.Options{STARTTLS: true, Username: "gatehouse", Password: "s3cret"})
	cfg := tlsOnly.Config()
	cfg.UseTLS = false
	err = sender(tlsOnly, cfg).Send(t.Context(), resetMessage(t, "en"))
	if err == nil || !strings.Contains(err.Error(), hintAuthAfterTLS) {
		t.Errorf("username without use_tls against a STARTTLS server = %v, want the AUTH-after-TLS hint", err)
	}
}

func TestSendToServerThatIsDown(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		cfg := config.Email{Host: "127.0.0.1", Port: closedPort(t), Timeout: time.Second, From: "noreply@id.example.com"}
		err := NewSMTP(cfg).Send(t.Context(), resetMessage(t, "en"))
		if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), hintUnreachable) {
			t.Errorf("Send to a closed port = %v, want connection refused with a hint", err)
		}
	})
	t.Run("silent server", func(t *testing.T) {
		host, port := silentListener(t)
		cfg := config.Email{Host: host, Port: port, Timeout: 300 * time.Millisecond, From: "noreply@id.example.com"}
		start := time.Now()
		err := NewSMTP(cfg).Send(t.Context(), resetMessage(t, "en"))
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("Send to a silent server took %v with a 300ms timeout", took)
		}
		if err == nil || !strings.Contains(err.Error(), "i/o timeout") || !strings.Contains(err.Error(), hintNoGreeting) {
			t.Errorf("Send to a silent server = %v, want an i/o timeout with the no-greeting hint", err)
		}
	})
	t.Run("context cancelled mid-conversation", func(t *testing.T) {
		host, port := silentListener(t)
		cfg := config.Email{Host: host, Port: port, Timeout: time.Minute, From: "noreply@id.example.com"}
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := NewSMTP(cfg).Send(ctx, resetMessage(t, "en"))
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("Send ignored its context for %v", took)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send with an expired context = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestSendRejectsHeaderInjection(t *testing.T) {
	ts := mailtest.Start(t, mailtest.Options{})
	s := sender(ts, ts.Config())
	base := resetMessage(t, "en")
	for _, tc := range []struct {
		name string
		edit func(*Message)
	}{
		{"CRLF in recipient", func(m *Message) { m.To = []string{"alice@example.com\r\nBcc: mallory@evil.example"} }},
		{"LF in recipient name", func(m *Message) { m.To = []string{"Alice\n <alice@example.com>"} }},
		{"CRLF in subject", func(m *Message) { m.Subject = "Hello\r\nBcc: mallory@evil.example" }},
		{"bare CR in subject", func(m *Message) { m.Subject = "Hello\rX-Evil: 1" }},
		{"NUL in subject", func(m *Message) { m.Subject = "Hello\x00" }},
		{"two addresses in one", func(m *Message) { m.To = []string{"alice@example.com, mallory@evil.example"} }},
		{"no recipient", func(m *Message) { m.To = nil }},
		{"not an address", func(m *Message) { m.To = []string{"alice"} }},
		{"empty text", func(m *Message) { m.Text = " " }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			m.To = append([]string(nil), base.To...)
			tc.edit(&m)
			err := s.Send(t.Context(), m)
			if !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("Send = %v, want ErrInvalidMessage", err)
			}
		})
	}
	if n := len(ts.Messages()); n != 0 {
		t.Errorf("%d invalid messages reached the server, want none", n)
	}

	cfg := ts.Config()
	cfg.From = "noreply@id.example.com\r\nBcc: mallory@evil.example"
	if err := sender(ts, cfg).Send(t.Context(), base); err == nil || !strings.Contains(err.Error(), "email.from") {
		t.Errorf("Send with a line break in email.from = %v, want an error naming email.from", err)
	}
}

func TestSendTextOnly(t *testing.T) {
	ts := mailtest.Start(t, mailtest.Options{})
	m := Message{To: []string{"alice@example.com"}, Subject: "Plain", Text: "Open https://id.example.com/x?a=1&b=2 now."}
	if err := sender(ts, ts.Config()).Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := ts.Wait(1)
	if strings.Contains(string(got.Raw), "multipart/") {
		t.Errorf("a text-only message was sent as multipart:\n%s", got.Raw)
	}
	if link := mailtest.ExtractLink(got.Raw); link != "https://id.example.com/x?a=1&b=2" {
		t.Errorf("ExtractLink = %q, want the link from the text", link)
	}
}
