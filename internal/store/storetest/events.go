package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func eventTests() []namedTest {
	return []namedTest{
		{"EventBrowser", testEventBrowser},
		{"EventGet", testEventGet},
		{"EventKeysetPaging", testEventKeysetPaging},
		{"EventRetention", testEventRetention},
		{"EventTenantIsolation", testEventTenantIsolation},
	}
}

// eventBase is a whole second, so the times written and read back compare
// equal on every backend.
var eventBase = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func mustEvent(t *testing.T, sc store.Scope, e *store.Event) *store.Event {
	t.Helper()
	noErr(t, "create event "+e.Action, sc.Events().Create(t.Context(), e))
	return e
}

func listEvents(t *testing.T, sc store.Scope, q store.EventQuery) ([]*store.Event, int) {
	t.Helper()
	list, total, err := sc.Events().List(t.Context(), q)
	noErr(t, fmt.Sprintf("List %+v", q), err)
	return list, total
}

// marks returns each event's "n" context value, in list order.
func marks(list []*store.Event) []int {
	out := make([]int, len(list))
	for i, e := range list {
		n, _ := e.Context["n"].(float64)
		out[i] = int(n)
	}
	return out
}

func testEventBrowser(t *testing.T, s store.Store) {
	sc := mustTenant(t, s, "t")
	imp := uuid.New()
	// Event n is created n minutes after eventBase.
	rows := []struct{ action, user, app, ip string }{
		{"login", "alice", "", "10.0.0.1"},
		{"login_failed", "alice", "", "10.0.0.2"},
		{"authorize_application", "alice", "grafana", "10.0.0.1"},
		{"login", "bob", "", "10.0.0.3"},
		{"authorize_application", "bob", "wiki", "10.0.0.3"},
		{"logout", "alice", "", "10.0.0.1"},
	}
	for n, r := range rows {
		e := &store.Event{Action: r.action, Username: r.user, App: r.app, ClientIP: r.ip, UserAgent: "curl/8",
			CreatedAt: eventBase.Add(time.Duration(n) * time.Minute), Context: map[string]any{"n": n}}
		if r.user == "bob" {
			e.ImpersonatorID, e.ImpersonatorUsername = uuid.NullUUID{UUID: imp, Valid: true}, "akadmin"
		}
		mustEvent(t, sc, e)
	}
	cases := []struct {
		name string
		q    store.EventQuery
		want []int
	}{
		{"all, newest first", store.EventQuery{}, []int{5, 4, 3, 2, 1, 0}},
		{"oldest first", store.EventQuery{Ordering: "created"}, []int{0, 1, 2, 3, 4, 5}},
		{"action", store.EventQuery{Action: "login"}, []int{3, 0}},
		{"username", store.EventQuery{Username: "alice"}, []int{5, 2, 1, 0}},
		{"app", store.EventQuery{App: "grafana"}, []int{2}},
		{"client IP", store.EventQuery{ClientIP: "10.0.0.1"}, []int{5, 2, 0}},
		{"since is inclusive", store.EventQuery{Since: eventBase.Add(4 * time.Minute)}, []int{5, 4}},
		{"until is exclusive", store.EventQuery{Until: eventBase.Add(2 * time.Minute)}, []int{1, 0}},
		{"time range and filters", store.EventQuery{Username: "alice", ClientIP: "10.0.0.1",
			Since: eventBase.Add(time.Minute), Until: eventBase.Add(10 * time.Minute), Ordering: "created"}, []int{2, 5}},
		{"no match", store.EventQuery{Action: "login", Username: "carol"}, []int{}},
		{"page 2 of 4", store.EventQuery{Page: store.Page{Number: 2, Size: 4}}, []int{1, 0}},
	}
	for _, c := range cases {
		list, total := listEvents(t, sc, c.q)
		if got := marks(list); !slices.Equal(got, c.want) {
			t.Errorf("%s: want events %v, got %v", c.name, c.want, got)
		}
		if c.q.Page.Number <= 1 && total != len(c.want) {
			t.Errorf("%s: want total %d, got %d", c.name, len(c.want), total)
		}
	}
	list, _ := listEvents(t, sc, store.EventQuery{Username: "bob", Ordering: "created"})
	got := list[0]
	if got.UserAgent != "curl/8" || got.ImpersonatorID.UUID != imp || got.ImpersonatorUsername != "akadmin" ||
		got.ClientIP != "10.0.0.3" || !got.CreatedAt.Equal(eventBase.Add(3*time.Minute)) || got.ID == uuid.Nil {
		t.Errorf("event read back: %+v", got)
	}
	_, _, err := sc.Events().List(t.Context(), store.EventQuery{Ordering: "action"})
	wantField(t, "unknown ordering", err, "ordering")
	wantField(t, "empty action", sc.Events().Create(t.Context(), &store.Event{}), "action")
	wantField(t, "long action", sc.Events().Create(t.Context(), &store.Event{Action: strings.Repeat("a", 101)}), "action")

	// Client-supplied text is clipped, never refused: an event must not be
	// lost because an attacker sent a huge user agent.
	long := mustEvent(t, sc, &store.Event{Action: "login_failed", UserAgent: strings.Repeat("u", 5000),
		ClientIP: strings.Repeat("1", 5000), Username: strings.Repeat("n", 5000)})
	list, _ = listEvents(t, sc, store.EventQuery{Action: "login_failed", Page: store.Page{Size: 1}})
	if list[0].ID != long.ID || len(list[0].UserAgent) != store.MaxUserAgentLen || len(list[0].ClientIP) > store.MaxIdentifierLen ||
		len(list[0].Username) > store.MaxIdentifierLen {
		t.Errorf("long fields: want them clipped, got user agent %d, IP %d, username %d bytes",
			len(list[0].UserAgent), len(list[0].ClientIP), len(list[0].Username))
	}
}

// testEventKeysetPaging walks a listing with After in both orders, across
// events that share a creation time, and checks it sees each event once.
// testEventGet: one event by its ID, as stored; an unknown ID, another
// tenant's event and an expired-and-deleted one are ErrNotFound.
func testEventGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustTenant(t, s, "a"), mustTenant(t, s, "b")
	imp := uuid.New()
	e := mustEvent(t, a, &store.Event{Action: "login", UserID: uuid.NullUUID{UUID: uuid.New(), Valid: true}, Username: "ivy",
		ImpersonatorID: uuid.NullUUID{UUID: imp, Valid: true}, ImpersonatorUsername: "akadmin", App: "wiki",
		ClientIP: "10.1.2.3", UserAgent: "curl/8", CreatedAt: eventBase, Context: map[string]any{"flow": "default", "n": 1}})
	got, err := a.Events().Get(ctx, e.ID)
	noErr(t, "Get", err)
	if got.ID != e.ID || got.Action != "login" || got.UserID != e.UserID || got.Username != "ivy" || got.ImpersonatorID.UUID != imp ||
		got.ImpersonatorUsername != "akadmin" || got.App != "wiki" || got.ClientIP != "10.1.2.3" || got.UserAgent != "curl/8" ||
		!got.CreatedAt.Equal(eventBase) || !got.Expires.Equal(e.Expires) || got.Context["flow"] != "default" || got.Context["n"] != float64(1) {
		t.Errorf("Get = %+v, want %+v", got, e)
	}
	_, err = a.Events().Get(ctx, uuid.New())
	wantErr(t, "Get of an unknown ID", err, store.ErrNotFound)
	_, err = b.Events().Get(ctx, e.ID)
	wantErr(t, "Get of another tenant's event", err, store.ErrNotFound)
	_, err = a.Events().DeleteExpired(ctx, e.Expires.Add(time.Second))
	noErr(t, "DeleteExpired", err)
	_, err = a.Events().Get(ctx, e.ID)
	wantErr(t, "Get of an event retention deleted", err, store.ErrNotFound)
}

func testEventKeysetPaging(t *testing.T, s store.Store) {
	sc := mustTenant(t, s, "t")
	const n = 23
	for i := range n {
		// Three events per second: pages must break ties by ID.
		mustEvent(t, sc, &store.Event{Action: "login", CreatedAt: eventBase.Add(time.Duration(i/3) * time.Second),
			Context: map[string]any{"n": i}})
	}
	mustEvent(t, sc, &store.Event{Action: "logout", CreatedAt: eventBase})
	for _, ordering := range []string{"-created", "created"} {
		var seen []*store.Event
		q := store.EventQuery{Action: "login", Ordering: ordering, Page: store.Page{Size: 5}}
		for range n {
			list, total := listEvents(t, sc, q)
			if q.After == nil && total != n {
				t.Fatalf("%s: first page total: want %d, got %d", ordering, n, total)
			}
			seen = append(seen, list...)
			if len(list) < q.Page.Size {
				break
			}
			q.After = list[len(list)-1]
		}
		all, _ := listEvents(t, sc, store.EventQuery{Action: "login", Ordering: ordering, Page: store.Page{Size: n}})
		if got, want := ids(seen), ids(all); !slices.Equal(got, want) {
			t.Fatalf("%s: keyset pages gave %d events, want the %d of one listing in the same order", ordering, len(got), len(want))
		}
		for i := 1; i < len(seen); i++ {
			c := seen[i].CreatedAt.Compare(seen[i-1].CreatedAt)
			if ordering == "-created" {
				c = -c
			}
			if c < 0 {
				t.Fatalf("%s: event %d (%v) out of order after %v", ordering, i, seen[i].CreatedAt, seen[i-1].CreatedAt)
			}
		}
	}
}

func ids(list []*store.Event) []uuid.UUID {
	out := make([]uuid.UUID, len(list))
	for i, e := range list {
		out[i] = e.ID
	}
	return out
}

func testEventRetention(t *testing.T, s store.Store) {
	ctx := t.Context()
	ten := &store.Tenant{Name: "t"}
	noErr(t, "create tenant", s.Tenants().Create(ctx, ten))
	if ten.EventRetention != store.DefaultEventRetention {
		t.Fatalf("new tenant: want the default retention (365 days), got %v", ten.EventRetention)
	}
	sc := s.Scope(ten.ID)
	year := mustEvent(t, sc, &store.Event{Action: "login", CreatedAt: eventBase})
	if !year.Expires.Equal(eventBase.Add(store.DefaultEventRetention)) {
		t.Fatalf("event under the default retention: want it to expire %v, got %v", eventBase.Add(store.DefaultEventRetention), year.Expires)
	}
	week := 7 * 24 * time.Hour
	noErr(t, "SetEventRetention", s.Tenants().SetEventRetention(ctx, ten.ID, week))
	if got, _ := s.Tenants().Get(ctx, ten.ID); got.EventRetention != week {
		t.Fatalf("Get after SetEventRetention: want %v, got %v", week, got.EventRetention)
	}
	short := mustEvent(t, sc, &store.Event{Action: "login", CreatedAt: eventBase})
	if !short.Expires.Equal(eventBase.Add(week)) {
		t.Fatalf("event after the retention changed to a week: want expiry %v, got %v", eventBase.Add(week), short.Expires)
	}
	pinned := mustEvent(t, sc, &store.Event{Action: "login", CreatedAt: eventBase, Expires: eventBase.Add(time.Hour)})
	if !pinned.Expires.Equal(eventBase.Add(time.Hour)) {
		t.Fatalf("an explicit expiry is kept: got %v", pinned.Expires)
	}
	list, _ := listEvents(t, sc, store.EventQuery{Ordering: "created"})
	for _, e := range list {
		if e.ID == short.ID && !e.Expires.Equal(short.Expires) {
			t.Fatalf("expiry read back: want %v, got %v", short.Expires, e.Expires)
		}
	}

	steps := []struct {
		at      time.Time
		deleted int
		left    []uuid.UUID
	}{
		{eventBase.Add(time.Hour - time.Second), 0, []uuid.UUID{year.ID, short.ID, pinned.ID}},
		{eventBase.Add(time.Hour), 1, []uuid.UUID{year.ID, short.ID}},
		{eventBase.Add(week), 1, []uuid.UUID{year.ID}},
		{eventBase.Add(store.DefaultEventRetention), 1, []uuid.UUID{}},
	}
	for _, st := range steps {
		n, err := sc.Events().DeleteExpired(ctx, st.at)
		noErr(t, "DeleteExpired", err)
		list, _ := listEvents(t, sc, store.EventQuery{Ordering: "created"})
		got := ids(list)
		byID := func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) }
		slices.SortFunc(got, byID)
		slices.SortFunc(st.left, byID)
		if n != st.deleted || !slices.Equal(got, st.left) {
			t.Fatalf("DeleteExpired at %v: want %d deleted and %d left, got %d deleted and %d left", st.at, st.deleted, len(st.left), n, len(got))
		}
	}

	wantField(t, "zero retention", s.Tenants().SetEventRetention(ctx, ten.ID, 0), "event_retention")
	wantField(t, "fractional seconds", s.Tenants().SetEventRetention(ctx, ten.ID, 1500*time.Millisecond), "event_retention")
	wantField(t, "retention on create", s.Tenants().Create(ctx, &store.Tenant{Name: "x", EventRetention: -time.Hour}), "event_retention")
	wantErr(t, "SetEventRetention of a missing tenant", s.Tenants().SetEventRetention(ctx, uuid.New(), week), store.ErrNotFound)
	wantErr(t, "event in a missing tenant", s.Scope(uuid.New()).Events().Create(ctx, &store.Event{Action: "login"}), store.ErrNotFound)
	other := &store.Tenant{Name: "custom", EventRetention: 30 * 24 * time.Hour}
	noErr(t, "create tenant with a retention", s.Tenants().Create(ctx, other))
	if e := mustEvent(t, s.Scope(other.ID), &store.Event{Action: "login", CreatedAt: eventBase}); !e.Expires.Equal(eventBase.Add(30 * 24 * time.Hour)) {
		t.Fatalf("tenant created with 30 days: want expiry %v, got %v", eventBase.Add(30*24*time.Hour), e.Expires)
	}
}

// testEventTenantIsolation: another tenant's events match no filter and
// are untouched by its retention, even with a shorter retention.
func testEventTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustTenant(t, s, "a"), mustTenant(t, s, "b")
	ea := mustEvent(t, a, &store.Event{Action: "login", Username: "ivy", App: "wiki", ClientIP: "10.9.9.9", CreatedAt: eventBase})
	noErr(t, "short retention in B", s.Tenants().SetEventRetention(ctx, b.TenantID(), time.Hour))
	mustEvent(t, b, &store.Event{Action: "logout", Username: "ivy", CreatedAt: eventBase})
	for _, q := range []store.EventQuery{{}, {Action: "login"}, {Username: "ivy"}, {App: "wiki"}, {ClientIP: "10.9.9.9"},
		{Since: eventBase.Add(-time.Hour), Until: eventBase.Add(time.Hour)}, {After: &store.Event{CreatedAt: eventBase.Add(time.Hour)}}} {
		list, _ := listEvents(t, b, q)
		for _, e := range list {
			if e.ID == ea.ID {
				t.Errorf("tenant B's List(%+v) returned tenant A's event", q)
			}
		}
	}
	n, err := b.Events().DeleteExpired(ctx, eventBase.Add(400*24*time.Hour))
	noErr(t, "DeleteExpired in B", err)
	if n != 1 {
		t.Errorf("tenant B's DeleteExpired: want its own event deleted, got %d", n)
	}
	if list, total := listEvents(t, a, store.EventQuery{}); total != 1 || list[0].ID != ea.ID || !list[0].Expires.Equal(eventBase.Add(store.DefaultEventRetention)) {
		t.Errorf("tenant A's event after B's retention and settings: want it intact, got %d events", total)
	}
}
