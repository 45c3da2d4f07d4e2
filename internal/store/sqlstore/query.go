package sqlstore

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func itoa(n int) string { return strconv.Itoa(n) }

// escapeLike makes user input literal inside a LIKE pattern (with ESCAPE '\').
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// orderBy turns an API ordering ("name", "-name") into SQL from a fixed
// table; anything else is a field error, never interpolated.
func orderBy(ordering, def string, allowed map[string]string) (string, error) {
	if ordering == "" {
		ordering = def
	}
	desc := strings.HasPrefix(ordering, "-")
	col, ok := allowed[strings.TrimPrefix(ordering, "-")]
	if !ok {
		return "", store.Invalid("ordering", "unknown field %q (allowed: %s, optionally prefixed with -)",
			strings.TrimPrefix(ordering, "-"), strings.Join(slices.Sorted(maps.Keys(allowed)), ", "))
	}
	if desc {
		return col + " DESC", nil
	}
	return col, nil
}
