package store

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// IdentityKey is the form in which usernames and email addresses are
// compared: NFKC, Unicode case folding, NFKC again (Unicode's
// toNFKC_Casefold, give or take ignorable characters, which usernames and
// addresses cannot contain). "Älice", "ÄLICE" and "A\u0308lice" share a
// key, as do "ｆｏｏ" and "foo". Backends store it beside the value and
// make it unique per tenant, so both engines agree on what collides:
// SQLite's lower() folds ASCII only, PostgreSQL's follows its collation.
func IdentityKey(s string) string {
	// A Caser keeps state between calls: one per call.
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
}

// EmailKey is the uniqueness key of an email address; "" for no address,
// which any number of users may share.
func EmailKey(email string) string {
	if email == "" {
		return ""
	}
	return IdentityKey(email)
}

// Script mixes a single name may use, after UTS #39's "highly restrictive"
// level: a name in one script, or Latin with the scripts Chinese, Japanese
// and Korean names are written in alongside it.
var scriptMixes = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// MixesScripts reports whether s combines letters of scripts that no
// writing system combines, such as Latin with Cyrillic ("раypal" with a
// Cyrillic "р" and "а"): the classic way to make one name pass for
// another. Digits and punctuation (Common) and combining marks
// (Inherited) belong to every script.
func MixesScripts(s string) bool {
	seen := map[string]bool{}
	for _, r := range s {
		if name := scriptOf(r); name != "" {
			seen[name] = true
		}
	}
	if len(seen) <= 1 {
		return false
	}
	for _, mix := range scriptMixes {
		if coveredBy(seen, mix) {
			return false
		}
	}
	return true
}

func coveredBy(seen map[string]bool, mix []string) bool {
	n := 0
	for _, name := range mix {
		if seen[name] {
			n++
		}
	}
	return n == len(seen)
}

// scriptOf names the script of r, "" for Common and Inherited.
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if 'a' <= r|0x20 && r|0x20 <= 'z' {
			return "Latin"
		}
		return ""
	}
	if unicode.Is(unicode.Common, r) || unicode.Is(unicode.Inherited, r) {
		return ""
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return "Unknown"
}
