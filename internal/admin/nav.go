package admin

import (
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/api"
)

type navGroup struct {
	Label   string
	Entries []navEntry
}

type navEntry struct {
	Label   string
	URL     string
	Current bool
}

// navSections place resources in the sidebar by path prefix, in order;
// resources no section claims go to "Other", so nothing the API offers
// is out of reach.
var navSections = []struct {
	id       string
	prefixes []string
}{
	{"admin.nav.applications", []string{"core/applications/", "providers/", "propertymappings/", "outposts/"}},
	{"admin.nav.directory", []string{"core/users/", "core/groups/", "rbac/", "core/tokens/", "core/authenticated_sessions/",
		"core/user_consent/", "sources/", "core/"}},
	{"admin.nav.flows", []string{"flows/", "stages/", "policies/"}},
	{"admin.nav.events", []string{"events/"}},
	{"admin.nav.system", []string{"crypto/", "admin/", "tenants/", "managed/", "tasks/"}},
}

// navHidden reports resources reached from another page rather than the
// sidebar: bindings (edited on their target) and the kinds of something
// that also has an "all" list (stages/identification/ under stages/all/).
func navHidden(res api.ResourceInfo, all map[string]bool) bool {
	if strings.HasSuffix(res.Path, "bindings/") || !res.List {
		return true
	}
	if res.Path == "events/events/" {
		return true // the event log page shows them, with more filters
	}
	return kindOfAll(res, all)
}

// families are the API's "all" lists and the model name their kinds end
// with: stages/identification/ is a kind of stages/all/, while
// stages/prompt/prompts/ is not a stage.
var families = map[string]string{"stages": "stage", "policies": "policy", "providers": "provider",
	"propertymappings": "mapping", "sources": "source"}

// kindOfAll reports whether res is one kind of an "all" list that exists.
func kindOfAll(res api.ResourceInfo, all map[string]bool) bool {
	first, rest, _ := strings.Cut(res.Path, "/")
	suffix, ok := families[first]
	return ok && rest != "all/" && all[first+"/all/"] && strings.HasSuffix(res.ModelName(), suffix)
}

// nav is the sidebar: the entries the caller may open.
func (rq *req) nav() []navGroup {
	res := rq.h.Resources()
	all := map[string]bool{}
	for _, r := range res {
		all[r.Path] = true
	}
	groups := make([]navGroup, len(navSections)+1)
	for i, s := range navSections {
		groups[i].Label = rq.t(s.id, nil)
	}
	groups[len(navSections)].Label = rq.t("admin.nav.other", nil)
	cur := rq.r.URL.Path
	entry := func(label, url string) navEntry {
		current := cur == url || (url != Prefix && strings.HasPrefix(cur, url))
		if family, ok := strings.CutSuffix(url, "all/"); ok && strings.HasPrefix(cur, family) {
			current = true // a stage's own page is under Stages
		}
		return navEntry{Label: label, URL: url, Current: current}
	}
	for _, r := range res {
		if navHidden(r, all) || !rq.c.Can(r.Perm("view")) {
			continue
		}
		g := len(navSections)
	find:
		for i, s := range navSections {
			for _, p := range s.prefixes {
				if strings.HasPrefix(r.Path, p) {
					g = i
					break find
				}
			}
		}
		groups[g].Entries = append(groups[g].Entries, entry(rq.plural(&r), Prefix+r.Path))
	}
	for i := range groups {
		e := groups[i].Entries
		sort.SliceStable(e, func(a, b int) bool { return navRank(e[a].URL) < navRank(e[b].URL) })
	}
	// The hand-written pages.
	if rq.canWizard() {
		groups[0].Entries = append(groups[0].Entries, entry(rq.t("admin.wizard.nav", nil), Prefix+"wizard/"))
	}
	if rq.canEvents() {
		groups[3].Entries = append([]navEntry{entry(rq.t("admin.events.title", nil), Prefix+"events/")}, groups[3].Entries...)
	}
	if rq.canSystem() {
		groups[4].Entries = append(groups[4].Entries, entry(rq.t("admin.system.title", nil), Prefix+"system/"))
	}
	out := []navGroup{{Entries: []navEntry{entry(rq.t("admin.overview.title", nil), Prefix)}}}
	for _, g := range groups {
		if len(g.Entries) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// navRank orders the common entries the way Authentik's sidebar does.
func navRank(url string) int {
	order := []string{"core/applications/", "providers/", "core/users/", "core/groups/", "rbac/roles/", "core/tokens/",
		"flows/instances/", "stages/", "policies/", "crypto/"}
	p := strings.TrimPrefix(url, Prefix)
	for i, o := range order {
		if strings.HasPrefix(p, o) {
			return i
		}
	}
	return len(order)
}
