package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The event browser reads the tenant's audit log from the event store
// directly, with the permission the API's events/events/ needs
// (authentik_events.view_event), because it pages differently: every
// filter matches an index, and pages continue after the last event shown
// (keyset paging), so page 1,000 of ten million events costs what page 1
// does. The API pages by number, as Authentik's clients expect.

// PermViewEvents is what reading the audit log needs.
const PermViewEvents = "authentik_events.view_event"

// knownActions are offered as suggestions in the action filter.
var knownActions = []string{"login", "login_failed", "logout", "user_write", "password_set", "invitation_used", "email_sent",
	"configuration_error",
	"authorize_application", "suspicious_request", "property_mapping_exception", "policy_exception", "policy_execution",
	"model_created", "model_updated", "model_deleted", "secret_view", "impersonation_started", "impersonation_ended", "configuration_error"}

func (rq *req) canEvents() bool { return rq.h.o.Store != nil && rq.c.Can(PermViewEvents) }

func (rq *req) canSystem() bool { return rq.can(http.MethodGet, "admin/system/") }

type eventRow struct {
	ID, Action, Username, UserURL, App, ClientIP, Created, URL string
	ByUserURL, ByIPURL                                         string
	Context                                                    string
	Summary                                                    string
}

type eventsPage struct {
	Filters  []formField
	Actions  []string
	Rows     []eventRow
	Count    string
	NextURL  string
	FirstURL string
	Ordering string
	Empty    string
}

// eventQuery reads the browser's filters from the query string; problems
// are reported by field.
func (rq *req) eventQuery(in url.Values) (store.EventQuery, map[string]string) {
	q := store.EventQuery{Action: strings.TrimSpace(in.Get("action")), Username: strings.TrimSpace(in.Get("username")),
		App: strings.TrimSpace(in.Get("app")), ClientIP: strings.TrimSpace(in.Get("client_ip")), Page: store.Page{Number: 1, Size: 50}}
	bad := map[string]string{}
	for _, k := range []string{"since", "until"} {
		s := strings.TrimSpace(in.Get(k))
		if s == "" {
			continue
		}
		v, _, errID := parseValue(fieldTime, s)
		if errID != "" {
			bad[k] = rq.t(errID, nil)
			continue
		}
		t, _ := time.Parse(time.RFC3339, v.(string))
		if k == "since" {
			q.Since = t
		} else {
			q.Until = t
		}
	}
	if in.Get("ordering") == "created" {
		q.Ordering = "created"
	}
	if a := in.Get("after"); a != "" {
		micros, id, ok := strings.Cut(a, "_")
		n, err := strconv.ParseInt(micros, 10, 64)
		pk, err2 := uuid.Parse(id)
		if ok && err == nil && err2 == nil {
			q.After = &store.Event{ID: pk, CreatedAt: time.UnixMicro(n).UTC()}
		}
	}
	return q, bad
}

func (h *Handler) eventList(rq *req) {
	if !rq.canEvents() {
		rq.forbidden(result{Problem: problem{Detail: "you do not have permission to perform this action (needs " + PermViewEvents + ")"}})
		return
	}
	in := rq.r.URL.Query()
	q, bad := rq.eventQuery(in)
	ep := eventsPage{Actions: knownActions, Ordering: q.Ordering, Empty: rq.t("admin.events.none", nil)}
	for _, k := range []string{"action", "username", "app", "client_ip", "since", "until"} {
		ff := formField{Name: k, ID: "ev_" + k, Label: rq.t("admin.events.filter."+k, nil), Value: in.Get(k), Control: "input", Type: "text"}
		switch k {
		case "since", "until":
			ff.Help = rq.t("admin.form.time_help", nil)
		}
		if msg, ok := bad[k]; ok {
			ff.Errors = []string{msg}
		}
		ep.Filters = append(ep.Filters, ff)
	}
	status := http.StatusOK
	var list []*store.Event
	total := 0
	if len(bad) == 0 {
		var err error
		list, total, err = rq.h.o.Store.Scope(httpx.From(rq.r.Context()).Tenant.ID).Events().List(rq.r.Context(), q)
		if err != nil {
			rq.internalError(err)
			return
		}
	} else {
		status = http.StatusBadRequest
	}
	for _, e := range list {
		ep.Rows = append(ep.Rows, rq.eventRow(e))
	}
	if q.After == nil {
		ep.Count = strconv.Itoa(total)
		if total >= store.MaxEventCount {
			ep.Count = strconv.Itoa(store.MaxEventCount) + "+"
		}
	}
	if len(list) == q.Page.Size {
		last := list[len(list)-1]
		ep.NextURL = withQuery(Prefix+"events/", in, "after", fmt.Sprintf("%d_%s", last.CreatedAt.UnixMicro(), last.ID))
	}
	if q.After != nil {
		ep.FirstURL = withQuery(Prefix+"events/", in, "after", "")
	}
	v := rq.view(rq.t("admin.events.title", nil))
	v.Page = ep
	rq.render(status, "events", v)
}

// fieldTime parses the browser's date filters like a form's time field.
var fieldTime = api.FieldInfo{Name: "since", Kind: api.KindTime}

func (rq *req) eventRow(e *store.Event) eventRow {
	r := eventRow{ID: e.ID.String(), Action: e.Action, Username: e.Username, App: e.App, ClientIP: e.ClientIP,
		Created: e.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"),
		URL:     fmt.Sprintf("%sevents/%s/?at=%d", Prefix, e.ID, e.CreatedAt.UnixMicro())}
	if e.UserID.Valid {
		r.UserURL = Prefix + "core/users/" + e.UserID.UUID.String() + "/"
	}
	if e.Username != "" {
		r.ByUserURL = Prefix + "events/?" + url.Values{"username": {e.Username}}.Encode()
	}
	if e.ClientIP != "" {
		r.ByIPURL = Prefix + "events/?" + url.Values{"client_ip": {e.ClientIP}}.Encode()
	}
	if m, ok := e.Context["model"].(map[string]any); ok {
		r.Summary = fmt.Sprint(m["model_name"], " ", m["name"])
	} else if s, ok := e.Context["flow"].(string); ok {
		r.Summary = s
	}
	return r
}

type eventPage struct {
	Row     eventRow
	Fields  []detailField
	Related []link
}

// eventDetail shows one event, found by its ID. Links carry the event's
// time too (?at=, microseconds), which older links needed; it is ignored.
func (h *Handler) eventDetail(rq *req) {
	if !rq.canEvents() {
		rq.forbidden(result{Problem: problem{Detail: "you do not have permission to perform this action (needs " + PermViewEvents + ")"}})
		return
	}
	id, err := uuid.Parse(strings.TrimSuffix(strings.TrimPrefix(rq.path, "events/"), "/"))
	if err != nil {
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
		return
	}
	e, err := rq.h.o.Store.Scope(httpx.From(rq.r.Context()).Tenant.ID).Events().Get(rq.r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
		return
	} else if err != nil {
		rq.internalError(err)
		return
	}
	ep := eventPage{Row: rq.eventRow(e)}
	add := func(label, text, url string, mono bool) {
		if text == "" {
			text = "—"
		}
		ep.Fields = append(ep.Fields, detailField{Label: label, Text: text, URL: url, Mono: mono})
	}
	add(rq.t("admin.events.filter.action", nil), e.Action, "", true)
	add(rq.t("admin.events.created", nil), ep.Row.Created, "", false)
	add(rq.t("admin.events.filter.username", nil), e.Username, ep.Row.UserURL, false)
	if e.ImpersonatorUsername != "" {
		add(rq.t("admin.events.impersonator", nil), e.ImpersonatorUsername, "", false)
	}
	add(rq.t("admin.events.filter.app", nil), e.App, "", false)
	add(rq.t("admin.events.filter.client_ip", nil), e.ClientIP, "", true)
	add(rq.t("admin.events.user_agent", nil), e.UserAgent, "", false)
	add(rq.t("admin.events.expires", nil), e.Expires.UTC().Format("2006-01-02 15:04 UTC"), "", false)
	ep.Fields = append(ep.Fields, detailField{Label: rq.t("admin.events.context", nil), Text: rq.jsonText(e.Context), Mono: true, Block: true})
	// The hour around the event, for "what else happened then".
	around := url.Values{"since": {e.CreatedAt.Add(-30 * time.Minute).UTC().Format(time.RFC3339)},
		"until": {e.CreatedAt.Add(30 * time.Minute).UTC().Format(time.RFC3339)}, "ordering": {"created"}}
	if ep.Row.ByUserURL != "" {
		ep.Related = append(ep.Related, link{Label: rq.t("admin.events.by_user", map[string]any{"user": e.Username}), URL: ep.Row.ByUserURL})
		ep.Related = append(ep.Related, link{Label: rq.t("admin.events.by_user_around", map[string]any{"user": e.Username}),
			URL: withQuery(Prefix+"events/", around, "username", e.Username)})
	}
	if ep.Row.ByIPURL != "" {
		ep.Related = append(ep.Related, link{Label: rq.t("admin.events.by_ip", map[string]any{"ip": e.ClientIP}), URL: ep.Row.ByIPURL})
		ep.Related = append(ep.Related, link{Label: rq.t("admin.events.by_ip_around", map[string]any{"ip": e.ClientIP}),
			URL: withQuery(Prefix+"events/", around, "client_ip", e.ClientIP)})
	}
	if e.App != "" {
		ep.Related = append(ep.Related, link{Label: rq.t("admin.events.by_app", map[string]any{"app": e.App}),
			URL: Prefix + "events/?" + url.Values{"app": {e.App}}.Encode()})
	}
	ep.Related = append(ep.Related, link{Label: rq.t("admin.events.same_action", map[string]any{"action": e.Action}),
		URL: Prefix + "events/?" + url.Values{"action": {e.Action}}.Encode()})
	v := rq.view(rq.t("admin.events.event", map[string]any{"action": e.Action}))
	v.Crumbs = []link{{Label: rq.t("admin.events.title", nil), URL: Prefix + "events/"}}
	v.Page = ep
	rq.render(http.StatusOK, "event", v)
}
