package pwpolicy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Result is the outcome of Check: whether the password passes, and what
// to tell the user when it does not.
type Result struct {
	Passing  bool      `json:"passing"`
	Messages []Message `json:"messages,omitempty"`
}

// Check applies the enabled checks to password, as Authentik's
// PasswordPolicy does: the password passes when every enabled check
// passes. Unlike Authentik, which stops at the first broken static rule,
// every broken rule is reported, so the user can fix them all at once;
// error_message, when set, replaces those static-rule messages as in
// Authentik. userInputs are the user's own strings (username, name,
// email), which the strength check treats as the first words an attacker
// tries.
func Check(c Config, password string, userInputs []string) Result {
	res := Result{Passing: true}
	if c.CheckStaticRules {
		if msgs := staticRules(c, password); len(msgs) > 0 {
			res.Passing = false
			if c.ErrorMessage != "" {
				failed := make([]string, len(msgs))
				for k, m := range msgs {
					failed[k] = m.Code
				}
				msgs = []Message{{Code: CodeCustom, Text: c.ErrorMessage, Args: map[string]any{"failed": failed}}}
			}
			res.Messages = append(res.Messages, msgs...)
		}
	}
	if c.CheckCommonPasswords && IsCommon(password) {
		res.Passing = false
		res.Messages = append(res.Messages, fixed(CodeCommon))
	}
	if c.CheckZxcvbn {
		// Authentik: the check passes when the score is above the threshold.
		if score, feedback := Strength(password, userInputs); score <= c.ZxcvbnScoreThreshold {
			res.Passing = false
			res.Messages = append(res.Messages, tooWeakMessage(score, c.ZxcvbnScoreThreshold))
			res.Messages = append(res.Messages, feedback...)
		}
	}
	return res
}

// Counts is what the static rules count in a password. Letters are
// counted with Unicode case: "É" is uppercase, "ß" lowercase; letters of
// scripts without case (Chinese, Japanese kana, Arabic, ...) count towards
// the length only. Digits are Unicode decimal digits, as Python's \d that
// Authentik uses; symbols are the characters of the configured charset.
type Counts struct {
	Length, Digits, Uppercase, Lowercase, Symbols int
}

// Count counts password's characters (runes) by class.
func Count(password, symbolCharset string) Counts {
	var ascii [2]uint64 // the charset's ASCII symbols as a bit set
	others := ""        // and the rest, searched one by one
	for _, r := range symbolCharset {
		if r < 128 {
			ascii[r/64] |= 1 << (r % 64)
		} else {
			others += string(r)
		}
	}
	var n Counts
	for _, r := range password {
		n.Length++
		if r < 128 {
			if ascii[r/64]&(1<<(r%64)) != 0 {
				n.Symbols++
			}
			switch { // ASCII without the Unicode tables' cost
			case r >= 'a' && r <= 'z':
				n.Lowercase++
			case r >= 'A' && r <= 'Z':
				n.Uppercase++
			case r >= '0' && r <= '9':
				n.Digits++
			}
			continue
		}
		if others != "" && strings.ContainsRune(others, r) {
			n.Symbols++
		}
		if (r >= 0x3040 && r <= 0x9fff) || (r >= 0xac00 && r <= 0xd7a3) {
			continue // kana, CJK and Hangul: no case, no digits (checked by a test)
		}
		switch {
		case unicode.IsDigit(r):
			n.Digits++
		case isUpper(r):
			n.Uppercase++
		case unicode.IsLower(r):
			n.Lowercase++
		}
	}
	return n
}

func staticRules(c Config, password string) []Message {
	n := Count(password, c.SymbolCharset)
	var msgs []Message
	if n.Length < c.LengthMin {
		msgs = append(msgs, countMessage(CodeTooShort, c.LengthMin, n.Length))
	}
	if n.Digits < c.AmountDigits {
		msgs = append(msgs, countMessage(CodeTooFewDigits, c.AmountDigits, n.Digits))
	}
	if n.Uppercase < c.AmountUppercase {
		msgs = append(msgs, countMessage(CodeTooFewUpper, c.AmountUppercase, n.Uppercase))
	}
	if n.Lowercase < c.AmountLowercase {
		msgs = append(msgs, countMessage(CodeTooFewLower, c.AmountLowercase, n.Lowercase))
	}
	if n.Symbols < c.AmountSymbols {
		msgs = append(msgs, symbolsMessage(c.AmountSymbols, n.Symbols, c.SymbolCharset))
	}
	return msgs
}

// IsCommon reports whether password, ignoring case and with l33t
// substitutions read back as letters ("P@ssw0rd"), is an entry of the
// bundled lists.
func IsCommon(password string) bool {
	d := bundled()
	if utf8.RuneCountInString(password) > d.maxLen {
		return false
	}
	lw := lowerRunes([]rune(password))
	if _, ok := d.lookup(string(lw)); ok {
		return true
	}
	subbed := make([]rune, len(lw))
	for _, sub := range l33tSubs(lw) {
		for k, r := range lw {
			if l, ok := sub[r]; ok {
				subbed[k] = l
			} else {
				subbed[k] = r
			}
		}
		if _, ok := d.lookup(string(subbed)); ok {
			return true
		}
	}
	return false
}
