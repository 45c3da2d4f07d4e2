package pwpolicy

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
)

// staticOnly is a policy with only the static rules on.
func staticOnly(edit func(*Config)) Config {
	c := DefaultConfig()
	edit(&c)
	return c
}

func TestStaticRules(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		password string
		want     []Message
	}{
		{"no rules pass anything", staticOnly(func(*Config) {}), "", nil},
		{"length met", staticOnly(func(c *Config) { c.LengthMin = 8 }), "abcdefgh", nil},
		{"too short", staticOnly(func(c *Config) { c.LengthMin = 8 }), "abcdefg", []Message{
			{CodeTooShort, "The password must be at least 8 characters long.", map[string]any{"min": 8, "count": 7}}}},
		{"length counts characters, not bytes", staticOnly(func(c *Config) { c.LengthMin = 4 }), "密码安全", nil},
		{"too few digits", staticOnly(func(c *Config) { c.AmountDigits = 2 }), "abc1", []Message{
			{CodeTooFewDigits, "The password must contain at least 2 digits.", map[string]any{"min": 2, "count": 1}}}},
		{"one digit, singular", staticOnly(func(c *Config) { c.AmountDigits = 1 }), "abc", []Message{
			{CodeTooFewDigits, "The password must contain at least 1 digit.", map[string]any{"min": 1, "count": 0}}}},
		{"Unicode digits count, as Python's \\d", staticOnly(func(c *Config) { c.AmountDigits = 2 }), "a١٢", nil},
		{"too few uppercase", staticOnly(func(c *Config) { c.AmountUppercase = 2 }), "Abc", []Message{
			{CodeTooFewUpper, "The password must contain at least 2 uppercase letters.", map[string]any{"min": 2, "count": 1}}}},
		{"accented uppercase counts", staticOnly(func(c *Config) { c.AmountUppercase = 2 }), "ÉÖabc", nil},
		{"too few lowercase", staticOnly(func(c *Config) { c.AmountLowercase = 1 }), "ABC123", []Message{
			{CodeTooFewLower, "The password must contain at least 1 lowercase letter.", map[string]any{"min": 1, "count": 0}}}},
		{"accented and Greek lowercase count", staticOnly(func(c *Config) { c.AmountLowercase = 3 }), "éßλ", nil},
		{"Chinese characters are neither case", staticOnly(func(c *Config) { c.AmountLowercase, c.AmountUppercase = 1, 1 }),
			"密码安全", []Message{
				{CodeTooFewUpper, "The password must contain at least 1 uppercase letter.", map[string]any{"min": 1, "count": 0}},
				{CodeTooFewLower, "The password must contain at least 1 lowercase letter.", map[string]any{"min": 1, "count": 0}}}},
		{"too few symbols", staticOnly(func(c *Config) { c.AmountSymbols = 2 }), "abc!", []Message{
			{CodeTooFewSymbols, "The password must contain at least 2 symbols from: " + DefaultSymbolCharset,
				map[string]any{"min": 2, "count": 1, "charset": DefaultSymbolCharset}}}},
		{"space is a default symbol", staticOnly(func(c *Config) { c.AmountSymbols = 2 }), "a b c", nil},
		{"only the configured charset counts", staticOnly(func(c *Config) { c.AmountSymbols, c.SymbolCharset = 1, "#" }),
			"a!b", []Message{{CodeTooFewSymbols, "The password must contain at least 1 symbol from: #",
				map[string]any{"min": 1, "count": 0, "charset": "#"}}}},
		{"a letter in the charset counts as both", staticOnly(func(c *Config) {
			c.AmountSymbols, c.AmountLowercase, c.SymbolCharset = 2, 2, "ab"
		}), "ab", nil},
		{"non-ASCII symbols in the charset", staticOnly(func(c *Config) { c.AmountSymbols, c.SymbolCharset = 2, "€§!" }),
			"a€b§", nil},
		{"every broken rule is reported", staticOnly(func(c *Config) {
			c.LengthMin, c.AmountDigits, c.AmountUppercase, c.AmountLowercase, c.AmountSymbols = 10, 1, 1, 1, 1
		}), "abc", []Message{
			{CodeTooShort, "The password must be at least 10 characters long.", map[string]any{"min": 10, "count": 3}},
			{CodeTooFewDigits, "The password must contain at least 1 digit.", map[string]any{"min": 1, "count": 0}},
			{CodeTooFewUpper, "The password must contain at least 1 uppercase letter.", map[string]any{"min": 1, "count": 0}},
			{CodeTooFewSymbols, "The password must contain at least 1 symbol from: " + DefaultSymbolCharset,
				map[string]any{"min": 1, "count": 0, "charset": DefaultSymbolCharset}}}},
		{"error_message replaces the rule messages", staticOnly(func(c *Config) {
			c.LengthMin, c.AmountDigits, c.ErrorMessage = 10, 1, "Use 10 characters with a digit."
		}), "abc", []Message{{CodeCustom, "Use 10 characters with a digit.",
			map[string]any{"failed": []string{CodeTooShort, CodeTooFewDigits}}}}},
		{"error_message is silent when the rules pass", staticOnly(func(c *Config) {
			c.LengthMin, c.ErrorMessage = 3, "Too short."
		}), "abcd", nil},
		{"static rules off", staticOnly(func(c *Config) { c.CheckStaticRules, c.LengthMin = false, 50 }), "a", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(tc.cfg, tc.password, nil)
			if got.Passing != (len(tc.want) == 0) {
				t.Errorf("Check(%q).Passing = %v, want %v", tc.password, got.Passing, len(tc.want) == 0)
			}
			if !reflect.DeepEqual(got.Messages, tc.want) {
				t.Errorf("Check(%q).Messages =\n  %v\nwant\n  %v", tc.password, got.Messages, tc.want)
			}
		})
	}
}

func TestCommonPasswordsRefused(t *testing.T) {
	c := DefaultConfig()
	c.CheckCommonPasswords = true
	for _, pw := range []string{
		"password", "123456", "qwerty123", "PASSWORD", "Dragon",
		"P@ssw0rd", "p455w0rd", "$h4d0w", // l33t read back as letters
		"michael", "elephant", // names and words of the bundled lists count too
	} {
		got := Check(c, pw, nil)
		if got.Passing || len(got.Messages) != 1 || got.Messages[0].Code != CodeCommon {
			t.Errorf("Check(%q) = %+v, want refused with %s", pw, got, CodeCommon)
		}
	}
	for _, pw := range []string{"", "kX9#mQ2$vL7!", "correct horse battery staple", "密码", strings.Repeat("password", 10)} {
		if got := Check(c, pw, nil); !got.Passing {
			t.Errorf("Check(%q) = %+v, want passing: not on the list", pw, got)
		}
	}
}

func TestZxcvbnCheckFollowsAuthentikThreshold(t *testing.T) {
	c := DefaultConfig()
	c.CheckStaticRules, c.CheckZxcvbn = false, true
	// Authentik passes when score > threshold: with the default 2, a
	// score-2 password fails and a score-3 one passes.
	for _, tc := range []struct {
		password string
		score    int
	}{{"Passw0rd!2k9q", 2}, {"Passw0rd!2k9qZ", 3}} {
		score, _ := Strength(tc.password, nil)
		if score != tc.score {
			t.Fatalf("Strength(%q) = %d, want %d", tc.password, score, tc.score)
		}
		got := Check(c, tc.password, nil)
		if got.Passing != (tc.score > 2) {
			t.Errorf("Check(%q) with threshold 2 passing = %v for score %d", tc.password, got.Passing, tc.score)
		}
	}
	got := Check(c, "password", nil)
	want := []string{CodeTooWeak, CodeTop10, CodeAddWord}
	if codes := codesOf(got.Messages); !reflect.DeepEqual(codes, want) {
		t.Errorf(`Check("password") codes = %v, want %v`, codes, want)
	}
	if got.Messages[0].Args["score"] != 0 || got.Messages[0].Args["threshold"] != 2 {
		t.Errorf("too_weak args = %v, want score 0 and threshold 2", got.Messages[0].Args)
	}
}

func TestAllChecksTogether(t *testing.T) {
	c := DefaultConfig()
	c.CheckZxcvbn, c.CheckCommonPasswords, c.LengthMin, c.AmountDigits = true, true, 8, 1
	got := Check(c, "dragon", []string{"alice"})
	want := []string{CodeTooShort, CodeTooFewDigits, CodeCommon, CodeTooWeak, CodeTop10, CodeAddWord}
	if codes := codesOf(got.Messages); got.Passing || !reflect.DeepEqual(codes, want) {
		t.Errorf(`Check("dragon") = passing %v, codes %v; want failing with %v`, got.Passing, codes, want)
	}
	if got := Check(c, "vivid-Otter-41-quarry", []string{"alice"}); !got.Passing {
		t.Errorf("Check of a strong passphrase = %+v, want passing", got)
	}
}

func TestVeryLongPasswordIsFast(t *testing.T) {
	c := DefaultConfig()
	c.CheckZxcvbn, c.CheckCommonPasswords, c.LengthMin, c.AmountSymbols = true, true, 12, 1
	bundled() // the one-time decompression is not what this test measures
	for _, pw := range []string{
		strings.Repeat("x9#Kq", 20_000), // 100 KB of mixed classes
		strings.Repeat("a", 100_000),    // 100 KB of one repeat
		strings.Repeat("密", 34_000),     // 100 KB of three-byte runes
		strings.Repeat("1", 100_000),    // digits: dates, years, sequences, l33t
	} {
		start := time.Now()
		Check(c, pw, []string{strings.Repeat("alice", 20_000)})
		d := time.Since(start)
		t.Logf("Check of %d bytes starting %q: %v", len(pw), string([]rune(pw)[:3]), d)
		if d > raceSlowdown*250*time.Millisecond {
			t.Errorf("Check of %d bytes starting %q took %v, want under %v", len(pw), string([]rune(pw)[:3]), d, raceSlowdown*250*time.Millisecond)
		}
	}
}

func codesOf(ms []Message) []string {
	var codes []string
	for _, m := range ms {
		codes = append(codes, m.Code)
	}
	return codes
}

func BenchmarkCheckAllChecks(b *testing.B) {
	c := DefaultConfig()
	c.CheckZxcvbn, c.CheckCommonPasswords = true, true
	c.LengthMin, c.AmountDigits, c.AmountUppercase, c.AmountLowercase, c.AmountSymbols = 8, 1, 1, 1, 1
	inputs := []string{"alice", "Alice Liddell", "alice@example.com"}
	for _, bc := range []struct{ name, password string }{
		{"typical", "Tr0ub4dor&3"},
		{"passphrase", "correct horse battery staple"},
		{"worst-100-runes", strings.Repeat("1", 100)},
		{"100KB", strings.Repeat("x9#Kq", 20_000)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bundled()
			b.ReportAllocs()
			for b.Loop() {
				Check(c, bc.password, inputs)
			}
		})
	}
}

// TestCaselessBlocksHaveNoCaseOrDigits backs Count's shortcut for kana,
// CJK and Hangul against the Unicode tables of this Go release.
func TestCaselessBlocksHaveNoCaseOrDigits(t *testing.T) {
	for _, block := range [][2]rune{{0x3040, 0x9fff}, {0xac00, 0xd7a3}} {
		for r := block[0]; r <= block[1]; r++ {
			if unicode.IsDigit(r) || isUpper(r) || unicode.IsLower(r) {
				t.Errorf("%U is a digit or cased; Count's shortcut would miss it", r)
			}
		}
	}
}
