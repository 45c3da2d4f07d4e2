package mail

import (
	"os"
	"strings"
	"testing"
)

// docs/email.md quotes the hints admins see when SMTP is misconfigured;
// this keeps the quotes and the code in step.
func TestDocsQuoteEveryHint(t *testing.T) {
	doc, err := os.ReadFile("../../docs/email.md")
	if err != nil {
		t.Fatalf("reading docs: %v", err)
	}
	for _, h := range []string{hintAuthAfterTLS, hintNoSTARTTLS, hintNotTLS, hintUnencrypted, hintAuthFailed,
		hintCertificate, hintImplicitTLS, hintNoGreeting, hintUnreachable} {
		if !strings.Contains(string(doc), "("+h+")") {
			t.Errorf("docs/email.md does not quote the hint %q", h)
		}
	}
	for _, want := range []string{`"max_attempts":9`, "up to **9 attempts**"} {
		if MaxAttempts != 9 || !strings.Contains(string(doc), want) {
			t.Errorf("docs/email.md: expected %q to match MaxAttempts = %d", want, MaxAttempts)
		}
	}
}
