package flow

import (
	"context"
	"strings"
)

// Brand is what a flow title's %(app)s names when the flow runs for no
// application (the product's name, as the default titles write it).
const Brand = "gatehouse"

// Title is the flow's title as shown: Authentik's titles may hold
// %(app)s, the application the flow runs for (an OAuth authorization, a
// provider logout), and %(user)s, the pending user.
func (x *Execution) Title() string {
	t := x.Flow.Title
	if !strings.Contains(t, "%") {
		return t
	}
	app, user := Brand, ""
	if x.Plan != nil {
		if a := x.Plan.Context.String(KeyApplicationName); a != "" {
			app = a
		}
		user, _ = x.Shown(context.Background())
	}
	return FormatTitle(t, app, user)
}

// FormatTitle fills %(app)s and %(user)s in a flow title and turns %% into
// %, as Python's "%" operator does with Authentik's titles. A title that
// operator would reject (any other use of %) is shown as written, as in
// Authentik.
func FormatTitle(title, app, user string) string {
	var b strings.Builder
	for rest := title; rest != ""; {
		i := strings.IndexByte(rest, '%')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i:]
		switch {
		case strings.HasPrefix(rest, "%%"):
			b.WriteByte('%')
			rest = rest[2:]
		case strings.HasPrefix(rest, "%(app)s"):
			b.WriteString(app)
			rest = rest[len("%(app)s"):]
		case strings.HasPrefix(rest, "%(user)s"):
			b.WriteString(user)
			rest = rest[len("%(user)s"):]
		default:
			return title
		}
	}
	return b.String()
}
