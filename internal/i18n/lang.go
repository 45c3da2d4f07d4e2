package i18n

import (
	"slices"
	"strconv"
	"strings"
)

// Lang is a supported UI language, as a BCP 47 tag usable in <html lang>.
type Lang string

// The supported languages.
const (
	EN     Lang = "en"
	ZhHans Lang = "zh-Hans"
)

// Default is the language when nothing else matches.
const Default = EN

// Where a request states its language, in the order Negotiate reads them.
const (
	// QueryParam chooses the language for one request (the language
	// switcher's links); the renderer then remembers it in CookieName.
	QueryParam = "locale"
	// UILocalesParam is OpenID Connect's ui_locales: space-separated tags
	// in order of preference.
	UILocalesParam = "ui_locales"
	// CookieName remembers the user's choice.
	CookieName = "gatehouse_language"
)

// Supported lists the languages in the order the language switcher shows
// them: one per file in locales/.
func Supported() []Lang { return slices.Clone(order) }

// Native is the language's name in itself, for the language switcher.
func (l Lang) Native() string {
	if loc := get(l); loc != nil {
		return loc.Language.Name
	}
	return string(l)
}

// Parse maps a language tag to a supported language: "en" and any "en-*",
// and any Chinese tag ("zh", "zh-CN", "zh-SG", "zh-Hans", "zh_CN") to
// zh-Hans. Traditional Chinese tags (zh-TW, zh-HK, zh-Hant) map to zh-Hans
// too until a Traditional catalog exists: a Chinese reader understands it
// better than English. Case and "_" for "-" are forgiven.
func Parse(tag string) (Lang, bool) {
	tag = strings.TrimSpace(tag)
	if tag == "" || len(tag) > 64 {
		return "", false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", false
		}
	}
	primary, _, _ := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
	primary = strings.ToLower(primary)
	for _, l := range order {
		if slices.Contains(get(l).Language.Tags, primary) {
			return l, true
		}
	}
	return "", false
}

// Negotiate picks the language of a request: an explicit choice in the
// query (?locale=, or OIDC ui_locales, a space-separated list) first, then
// the remembered choice in the cookie, then the browser's Accept-Language;
// English when none of them names a supported language.
func Negotiate(acceptLanguage, cookieValue, queryValue string) Lang {
	for _, tag := range strings.Fields(queryValue) {
		if l, ok := Parse(tag); ok {
			return l
		}
	}
	if l, ok := Parse(cookieValue); ok {
		return l
	}
	if l, ok := parseAcceptLanguage(acceptLanguage); ok {
		return l
	}
	return Default
}

// Bounds on the work one header can cause.
const (
	maxAcceptLanguage = 4096
	maxAcceptEntries  = 32
)

// parseAcceptLanguage returns the supported language with the highest
// q-value (RFC 9110 §12.5.4); among equals, the first listed. q=0 means
// "not acceptable". An entry with a malformed tag or q-value is skipped,
// not the whole header. "*" stands for the default language.
func parseAcceptLanguage(h string) (Lang, bool) {
	if len(h) > maxAcceptLanguage {
		h = h[:maxAcceptLanguage]
	}
	var best Lang
	bestQ := 0.0
	for i, item := range strings.Split(h, ",") {
		if i == maxAcceptEntries {
			break
		}
		tag, params, _ := strings.Cut(item, ";")
		tag = strings.TrimSpace(tag)
		q, ok := qValue(params)
		if !ok || q <= bestQ {
			continue
		}
		var l Lang
		if tag == "*" {
			l = Default
		} else if l, ok = Parse(tag); !ok {
			continue
		}
		best, bestQ = l, q
	}
	return best, best != ""
}

// qValue reads the q parameter of one Accept-Language entry; 1 when absent.
func qValue(params string) (float64, bool) {
	q := 1.0
	if strings.TrimSpace(params) == "" {
		return q, true
	}
	for _, p := range strings.Split(params, ";") {
		k, v, found := strings.Cut(strings.TrimSpace(p), "=")
		if !found {
			return 0, false
		}
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue // no other parameter is defined; tolerate it
		}
		v = strings.TrimSpace(v)
		// RFC 9110: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
		if len(v) == 0 || len(v) > 5 || v[0] != '0' && v[0] != '1' || strings.Trim(v, "0123456789.") != "" {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return 0, false
		}
		q = f
	}
	return q, true
}
