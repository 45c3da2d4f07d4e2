package httpx

import (
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// TestLang: the query beats the cookie, which beats Accept-Language
// (i18n.Negotiate), each read from where the request carries it.
func TestLang(t *testing.T) {
	r := httptest.NewRequest("GET", "/if/flow/x/?ui_locales=zh-CN", nil)
	r.Header.Set("Accept-Language", "en")
	if got := Lang(r); got != i18n.ZhHans {
		t.Errorf("ui_locales=zh-CN: got %q, want zh-Hans", got)
	}
	r = httptest.NewRequest("GET", "/if/flow/x/?locale=en&ui_locales=zh-CN", nil)
	if got := Lang(r); got != i18n.EN {
		t.Errorf("locale=en beats ui_locales: got %q, want en", got)
	}
	r = httptest.NewRequest("GET", "/if/flow/x/", nil)
	r.Header.Set("Cookie", i18n.CookieName+"=zh-Hans")
	r.Header.Set("Accept-Language", "en")
	if got := Lang(r); got != i18n.ZhHans {
		t.Errorf("cookie zh-Hans: got %q, want zh-Hans", got)
	}
}
