package i18n

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		tag  string
		want Lang
		ok   bool
	}{
		{"en", EN, true},
		{"en-US", EN, true},
		{"EN-gb", EN, true},
		{"zh", ZhHans, true},
		{"zh-CN", ZhHans, true},
		{"zh-SG", ZhHans, true},
		{"zh-Hans", ZhHans, true},
		{"zh-Hans-CN", ZhHans, true},
		{"zh_CN", ZhHans, true},
		{"ZH-cn", ZhHans, true},
		// Traditional Chinese reads zh-Hans until it has its own catalog.
		{"zh-TW", ZhHans, true},
		{"zh-HK", ZhHans, true},
		{"zh-Hant", ZhHans, true},
		{"fr", "", false},
		{"", "", false},
		{"*", "", false},
		{"zhx", "", false},
		{"e n", "", false},
		{"zh;q=1", "", false},
		{"<script>", "", false},
		{strings.Repeat("zh-", 30), "", false},
	} {
		got, ok := Parse(tc.tag)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Parse(%q) = %q, %v; want %q, %v", tc.tag, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNegotiateAcceptLanguage(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   Lang
	}{
		{"", EN},
		{"zh-CN", ZhHans},
		{"zh-CN,zh;q=0.9,en;q=0.8", ZhHans},
		{"en-US,en;q=0.9,zh-CN;q=0.8", EN},
		{"fr-FR,fr;q=0.9,zh;q=0.5,en;q=0.4", ZhHans},
		{"en;q=0.5, zh;q=0.8", ZhHans},
		{"en;q=0.8, zh;q=0.8", EN},    // a tie goes to the first listed
		{"zh;q=0, en;q=0.1", EN},      // q=0: not acceptable
		{"zh;q=0", EN},                // nothing acceptable: the default
		{"de, *;q=0.5", EN},           // "*" is the default language
		{"*;q=0.1, zh;q=0.2", ZhHans}, // a real match beats the wildcard
		{"zh-TW,zh;q=0.9", ZhHans},    // Traditional reads Simplified for now
		{"ZH-HANS", ZhHans},           // case-insensitive
		{"  zh-CN  ;  q = 0.7 , en;q=0.6", ZhHans},
		{"zh;q=1.000", ZhHans},
		{"zh;level=1;q=0.9, en;q=0.5", ZhHans}, // unknown parameters are tolerated
		// Malformed entries are skipped, the rest still counts.
		{"zh;q=2, en;q=0.1", EN},
		{"zh;q=-1, en;q=0.1", EN},
		{"zh;q=abc, en;q=0.1", EN},
		{"zh;q=1e-1, en;q=0.01", EN},
		{"zh;q=0.12345, en;q=0.01", EN},
		{"zh;q, en;q=0.01", EN},
		{"zh;;, en;q=0.01", EN},
		{"zh;q=0.5;q=, en;q=0.01", EN},
		{",,,;;;===", EN},
		{"\x00zh", EN},
		{"zh\u00a0CN", EN},
		{"<script>alert(1)</script>", EN},
		{strings.Repeat("fr,", 40) + "zh", EN}, // past the entry bound
		{strings.Repeat(" ", 5000) + "zh", EN}, // past the length bound
	} {
		if got := Negotiate(tc.header, "", ""); got != tc.want {
			t.Errorf("Negotiate(Accept-Language %q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestNegotiatePrecedence(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		header, cookie, query string
		want                  Lang
	}{
		{"query beats cookie and header", "en", "en", "zh-CN", ZhHans},
		{"query beats header the other way", "zh", "zh", "en", EN},
		{"ui_locales list, first supported wins", "en", "", "fr-CA zh-CN en", ZhHans},
		{"unsupported query falls through to cookie", "en", "zh-Hans", "fr", ZhHans},
		{"malformed query falls through", "zh", "", "<x>", ZhHans},
		{"cookie beats header", "zh-CN", "en", "", EN},
		{"malformed cookie falls through to header", "zh-CN", "zh-CN;evil", "", ZhHans},
		{"header alone", "zh-CN", "", "", ZhHans},
		{"nothing", "", "", "", EN},
	} {
		if got := Negotiate(tc.header, tc.cookie, tc.query); got != tc.want {
			t.Errorf("%s: Negotiate(%q, %q, %q) = %q, want %q", tc.name, tc.header, tc.cookie, tc.query, got, tc.want)
		}
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"zh-CN,zh;q=0.9", "en;q=0.5, zh;q=0.8", "*;q=0", ";;q=,", "zh;q=1.0000"} {
		f.Add(s, "zh", "en fr")
	}
	f.Fuzz(func(t *testing.T, header, cookie, query string) {
		got := Negotiate(header, cookie, query)
		if got != EN && got != ZhHans {
			t.Fatalf("Negotiate(%q, %q, %q) = %q, not a supported language", header, cookie, query, got)
		}
	})
}
