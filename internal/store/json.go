package store

import (
	"encoding/json"
	"fmt"
)

// Limits on stored JSON. Every free-form JSON value a write stores (user
// and group attributes, invitation data, stage, policy and provider
// settings, event contexts, notifications) passes ValidateJSON: a size
// bound per field, and one bound on nesting for all. Nesting matters as
// much as size: 24 kB of nested arrays is 9000 levels, which an indented
// rendering turns into 160 MB (each level indents every line below it).
const (
	// MaxJSONDepth bounds the nesting of objects and arrays in a stored
	// value, the value itself counted: {"a": {"b": 1}} is 2 deep.
	MaxJSONDepth = 32
	// MaxEventContextLen bounds an event's context, encoded.
	MaxEventContextLen = 64 << 10
)

// CheckJSON encodes value (a json.RawMessage is checked as it is) and
// checks it against maxLen bytes and maxDepth levels. problem is "" when
// it is fine, else what is wrong, in words for a field error.
func CheckJSON(value any, maxLen, maxDepth int) (encoded []byte, problem string) {
	b, err := json.Marshal(value)
	switch {
	case err != nil:
		return nil, "is not valid JSON"
	case len(b) > maxLen:
		return b, fmt.Sprintf("must be at most %d bytes of JSON", maxLen)
	case jsonDepth(b) > maxDepth:
		return b, fmt.Sprintf("must not be nested more than %d levels deep", maxDepth)
	}
	return b, ""
}

// ValidateJSON is CheckJSON at the usual depth, reporting a problem as a
// field error of v. It returns the encoded value.
func ValidateJSON(v *ValidationError, field string, value any, maxLen int) []byte {
	b, problem := CheckJSON(value, maxLen, MaxJSONDepth)
	if problem != "" {
		v.Add(field, "%s", problem)
	}
	return b
}

// jsonDepth is the deepest nesting of objects and arrays in valid JSON.
func jsonDepth(b []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}
