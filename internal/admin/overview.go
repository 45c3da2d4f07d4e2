package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

type overviewPage struct {
	Cards     []countCard
	Chart     *loginChart
	Recent    []eventRow
	EventsURL string
	Shortcuts []link
}

type countCard struct {
	Label string
	Count string
	URL   string
}

// loginChart is logins and failed logins per hour over the last day,
// drawn as SVG bars (no script, no inline style: the CSP allows neither).
type loginChart struct {
	Hours        []hourBars
	Width        int
	Height       int
	Base         int // the y of the axis
	Max          int
	TotalLogins  int
	TotalFailed  int
	Capped       bool
	FirstLabel   string
	LastLabel    string
	MaxLabelY    int
	LegendLogin  string
	LegendFailed string
}

type hourBars struct {
	Label                   string // "14:00"
	Logins, Failed          int
	X, FailedX              int
	LoginY, LoginH          int
	FailedY, FailedH        int
	LoginTitle, FailedTitle string
}

// chartHeight is the bars' height in the SVG's units.
const chartHeight = 120

func (h *Handler) overview(rq *req) {
	op := overviewPage{}
	for _, c := range []struct{ id, path string }{
		{"admin.overview.users", "core/users/"}, {"admin.overview.groups", "core/groups/"},
		{"admin.overview.applications", "core/applications/"}, {"admin.overview.providers", "providers/all/"},
	} {
		n, url, ok := rq.countOf(c.path)
		if !ok {
			continue
		}
		op.Cards = append(op.Cards, countCard{Label: rq.t(c.id, nil), Count: n, URL: url})
	}
	if rq.canEvents() {
		chart, err := rq.loginChart()
		if err != nil {
			rq.internalError(err)
			return
		}
		op.Chart = chart
		sc := rq.h.o.Store.Scope(httpx.From(rq.r.Context()).Tenant.ID)
		recent, _, err := sc.Events().List(rq.r.Context(), store.EventQuery{Page: store.Page{Number: 1, Size: 10}})
		if err != nil {
			rq.internalError(err)
			return
		}
		for _, e := range recent {
			op.Recent = append(op.Recent, rq.eventRow(e))
		}
		op.EventsURL = Prefix + "events/"
	}
	if rq.canWizard() {
		op.Shortcuts = append(op.Shortcuts, link{Label: rq.t("admin.wizard.nav", nil), URL: Prefix + "wizard/"})
	}
	if r, ok := rq.h.resource("core/users/"); ok && r.Create && rq.c.Can(r.Perm("add")) {
		op.Shortcuts = append(op.Shortcuts, link{Label: rq.t("admin.action.new", map[string]any{"model": rq.singular(r)}),
			URL: Prefix + r.Path + "new/"})
	}
	if r, ok := rq.h.resource("flows/instances/"); ok && rq.c.Can(r.Perm("view")) {
		op.Shortcuts = append(op.Shortcuts, link{Label: rq.plural(r), URL: Prefix + r.Path})
	}
	v := rq.view(rq.t("admin.overview.title", nil))
	v.Page = op
	rq.render(http.StatusOK, "overview", v)
}

// countOf counts a list through the API; for providers without an "all"
// list, the lists of each kind are summed. ok is false when the caller
// may not see any of it.
func (rq *req) countOf(path string) (string, string, bool) {
	if _, ok := rq.h.resource(path); ok {
		if n := rq.count(path, nil); n >= 0 {
			return strconv.Itoa(n), Prefix + path, true
		}
		return "", "", false
	}
	if !strings.HasSuffix(path, "/all/") {
		return "", "", false
	}
	parent := strings.TrimSuffix(path, "all/")
	total, seen, first := 0, false, ""
	for _, r := range rq.h.Resources() {
		if !strings.HasPrefix(r.Path, parent) || !r.List || strings.HasSuffix(r.Path, "bindings/") {
			continue
		}
		if n := rq.count(r.Path, url.Values{}); n >= 0 {
			total, seen = total+n, true
			if first == "" {
				first = Prefix + r.Path
			}
		}
	}
	return strconv.Itoa(total), first, seen
}

// loginChart counts login and login_failed events per hour of the last
// 24 hours, with one capped count per hour and action: index range
// counts, never the events themselves.
func (rq *req) loginChart() (*loginChart, error) {
	sc := rq.h.o.Store.Scope(httpx.From(rq.r.Context()).Tenant.ID)
	now := rq.h.o.Now().UTC()
	end := now.Truncate(time.Hour).Add(time.Hour)
	start := end.Add(-24 * time.Hour)
	c := &loginChart{Width: 24 * 24, Height: chartHeight + 24, Base: chartHeight + 4,
		LegendLogin: rq.t("admin.overview.logins", nil), LegendFailed: rq.t("admin.overview.failed_logins", nil)}
	for i := range 24 {
		from := start.Add(time.Duration(i) * time.Hour)
		hb := hourBars{Label: from.Format("15:04")}
		for _, a := range []string{"login", "login_failed"} {
			_, n, err := sc.Events().List(rq.r.Context(), store.EventQuery{Action: a, Since: from, Until: from.Add(time.Hour),
				Page: store.Page{Number: 1, Size: 1}})
			if err != nil {
				return nil, err
			}
			if n >= store.MaxEventCount {
				c.Capped = true
			}
			if a == "login" {
				hb.Logins = n
				c.TotalLogins += n
			} else {
				hb.Failed = n
				c.TotalFailed += n
			}
			c.Max = max(c.Max, n)
		}
		c.Hours = append(c.Hours, hb)
	}
	scale := max(c.Max, 1)
	for i := range c.Hours {
		hb := &c.Hours[i]
		hb.X = i*24 + 3
		hb.FailedX = i*24 + 12
		hb.LoginH = hb.Logins * chartHeight / scale
		if hb.Logins > 0 && hb.LoginH == 0 {
			hb.LoginH = 1
		}
		hb.FailedH = hb.Failed * chartHeight / scale
		if hb.Failed > 0 && hb.FailedH == 0 {
			hb.FailedH = 1
		}
		hb.LoginY = c.Base - hb.LoginH
		hb.FailedY = c.Base - hb.FailedH
		hb.LoginTitle = rq.t("admin.overview.bar", map[string]any{"series": c.LegendLogin, "hour": hb.Label, "count": hb.Logins})
		hb.FailedTitle = rq.t("admin.overview.bar", map[string]any{"series": c.LegendFailed, "hour": hb.Label, "count": hb.Failed})
	}
	c.FirstLabel, c.LastLabel = c.Hours[0].Label, c.Hours[23].Label
	c.LegendLogin = rq.t("admin.overview.legend", map[string]any{"series": c.LegendLogin, "count": c.TotalLogins})
	c.LegendFailed = rq.t("admin.overview.legend", map[string]any{"series": c.LegendFailed, "count": c.TotalFailed})
	return c, nil
}
