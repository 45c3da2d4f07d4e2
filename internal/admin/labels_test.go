package admin

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// TestDomainMessagesAreTranslated: the refusals the domain layer words
// for an application's provider read in Chinese in the console, as the
// API's stock messages do.
func TestDomainMessagesAreTranslated(t *testing.T) {
	for _, c := range []struct{ msg, want string }{
		{"no provider with ID 0190f0c4-0000-7000-8000-000000000000 exists", "该提供者不存在。"},
		{`is already the provider of application "wiki"`, "该提供者已被应用 wiki 使用。"},
	} {
		if got := apiMessage(i18n.ZhHans, c.msg); got != c.want {
			t.Errorf("%q in Chinese: %q, want %q", c.msg, got, c.want)
		}
	}
}
