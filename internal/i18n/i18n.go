package i18n

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// free lists the codes whose English may be a text of its own (a
// policy's message, an admin's error_message): Message shows such a text
// as written instead of the stock translation.
var free = map[string]bool{
	PromptPolicyFailed: true,
	UserWriteConflict:  true,
	UserWriteInvalid:   true,
	FlowNotApplicable:  true,
	PasswordCustom:     true,
}

// T returns message id in language l with {name} placeholders replaced by
// args. A language without the text falls back to English; an unknown ID
// comes back as itself, so a mistake is visible but never breaks a page.
// The result is plain text: the caller's template escapes it.
func T(l Lang, id string, args map[string]any) string {
	m, ok := lookup(l, id, messages)
	if !ok {
		return id
	}
	return interpolate(m.text(args), args)
}

// Message renders a problem a stage reported as a code with its English
// text (flow.ErrorDetail, an access-denied challenge):
//
//   - an unknown code: the English text as written (it is all we have);
//   - English: the stage's own text, which may say more than the stock one;
//   - a free code whose text is not the stock English (a policy's own
//     message): that text as written, translated only when it is one of
//     the texts the default blueprints ship (see Known);
//   - otherwise the translation of the code.
func Message(l Lang, code, english string, args map[string]any) string {
	if get(l) == nil {
		l = Default
	}
	e, ok := get(Default).Messages[code]
	switch {
	case !ok && english == "":
		return code
	case !ok:
		return Known(l, english)
	case english != "" && l == Default:
		return english
	case english != "" && free[code] && english != interpolate(e.text(args), args):
		return Known(l, english)
	}
	return T(l, code, args)
}

// interpolate replaces {name} with args[name]; placeholders without an
// argument stay as they are. Argument values are not scanned again, so a
// value containing "{x}" stays literal.
func interpolate(s string, args map[string]any) string {
	if len(args) == 0 || !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		name := s[i+1 : i+j]
		v, ok := args[name]
		if !ok || !isName(name) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(format(v))
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// format prints an argument; numbers that went through JSON arrive as
// float64 and print without a fraction when they are whole.
func format(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

func isOne(v any) bool {
	switch v := v.(type) {
	case int:
		return v == 1
	case int64:
		return v == 1
	case float64:
		return v == 1
	case string:
		return v == "1"
	}
	return false
}

// placeholders lists the {name}s of s, sorted, for tests.
func placeholders(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		if name := s[i+1 : i+j]; isName(name) {
			out = append(out, name)
		}
		s = s[i+j+1:]
	}
	sort.Strings(out)
	return out
}
