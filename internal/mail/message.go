package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"unicode"
)

// Message is one email. It is also the payload of a queued mail job, so its
// JSON form is stored in the database until the job is done.
type Message struct {
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	// Text is the plain-text body; every message has one, for clients and
	// readers that do not show HTML.
	Text string `json:"text"`
	// HTML is the optional rich alternative of Text.
	HTML string `json:"html,omitempty"`
}

// Sender delivers messages. SMTP is the implementation; tests and the
// queue handler depend on this interface.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrInvalidMessage is wrapped by every validation error: no retry can
// deliver such a message, so the queue fails it at once.
var ErrInvalidMessage = errors.New("invalid message")

// maxRecipients bounds one message: Gatehouse writes to one person at a
// time, so a long list means a bug or abuse, not a use case.
const maxRecipients = 50

// maxSubject is far above any real subject and far below what would make a
// header unwieldy.
const maxSubject = 500

func invalid(format string, args ...any) error {
	return fmt.Errorf("mail: %w: %s", ErrInvalidMessage, fmt.Sprintf(format, args...))
}

// Validate checks a message before it is queued or sent. Line breaks are
// refused anywhere in addresses and the subject: they are how a value
// injected from user input would add headers (Bcc:) or a body of its own.
func (m Message) Validate() error {
	if len(m.To) == 0 {
		return invalid("no recipient")
	}
	if len(m.To) > maxRecipients {
		return invalid("%d recipients, at most %d allowed", len(m.To), maxRecipients)
	}
	for _, to := range m.To {
		if err := checkAddress(to); err != nil {
			return invalid("recipient %q: %v", to, err)
		}
	}
	if hasControl(m.Subject) {
		return invalid("subject contains a line break or control character")
	}
	if strings.TrimSpace(m.Subject) == "" {
		return invalid("empty subject")
	}
	if len(m.Subject) > maxSubject {
		return invalid("subject longer than %d bytes", maxSubject)
	}
	if strings.TrimSpace(m.Text) == "" {
		return invalid("empty text body")
	}
	return nil
}

// checkAddress accepts "user@example.com" and "Name <user@example.com>".
func checkAddress(a string) error {
	if hasControl(a) {
		return errors.New("contains a line break or control character")
	}
	addr, err := netmail.ParseAddress(a)
	if err != nil {
		return fmt.Errorf("not an email address: %v", err)
	}
	if !strings.Contains(addr.Address, "@") {
		return errors.New("not an email address: no @")
	}
	return nil
}

// hasControl reports CR, LF, NUL and other control characters (tabs
// included: they have no place in a subject or address either).
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}
