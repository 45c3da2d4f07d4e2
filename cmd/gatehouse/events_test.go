package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// seedEvents stores n login events one minute apart ending now, and a
// few others, in the default tenant.
func seedEvents(t *testing.T, h *home, n int) time.Time {
	t.Helper()
	_, sc := h.app()
	now := time.Now().UTC().Truncate(time.Second)
	create := func(e *store.Event) {
		if err := sc.Events().Create(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	uid := uuid.New()
	for i := range n {
		create(&store.Event{Action: "login", UserID: uuid.NullUUID{UUID: uid, Valid: true}, Username: "alice",
			ClientIP: "192.0.2.1", UserAgent: "=cmd|' /C calc'!A0", CreatedAt: now.Add(-time.Duration(n-1-i) * time.Minute),
			Context: map[string]any{"i": i, "auth_method": "password"}})
	}
	create(&store.Event{Action: "login_failed", Username: "bob", CreatedAt: now.Add(-10 * 24 * time.Hour),
		Context: map[string]any{"username": "bob", "password": "********"}})
	create(&store.Event{Action: "authorize_application", Username: "alice", App: "wiki", CreatedAt: now.Add(-2 * 24 * time.Hour),
		ImpersonatorID: uuid.NullUUID{UUID: uuid.New(), Valid: true}, ImpersonatorUsername: "akadmin"})
	return now
}

func jsonl(t *testing.T, out string) []exportedEvent {
	t.Helper()
	var list []exportedEvent
	for line := range strings.Lines(out) {
		var e exportedEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		list = append(list, e)
	}
	return list
}

func TestEventsExportJSONLines(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	// More than one page of store.MaxPageSize, so the export pages.
	now := seedEvents(t, h, 150)
	all := jsonl(t, h.ok("", "events", "export"))
	if len(all) != 152 {
		t.Fatalf("export: want 152 events, got %d", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Created.Before(all[i-1].Created) {
			t.Fatalf("export: event %d (%v) is older than the one before (%v); want oldest first", i, all[i].Created, all[i-1].Created)
		}
	}
	first, last := all[0], all[len(all)-1]
	if first.Action != "login_failed" || first.User == nil || first.User.Username != "bob" || first.User.PK != "" ||
		first.Context["password"] != "********" {
		t.Errorf("oldest event: want bob's login_failed without a user ID, got %+v", first)
	}
	if last.Action != "login" || last.User.Username != "alice" || last.User.PK == "" || last.ClientIP != "192.0.2.1" ||
		!last.Created.Equal(now) || last.Context["i"] != float64(149) || last.Tenant == "" || !last.Expires.After(now) {
		t.Errorf("newest event: want alice's 150th login with every field, got %+v", last)
	}
	if all[1].Impersonator == nil || all[1].Impersonator.Username != "akadmin" || all[1].App != "wiki" {
		t.Errorf("impersonated event: want the impersonator and the app, got %+v", all[1])
	}

	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--action", "login_failed"}, 1},
		{[]string{"--username", "alice"}, 151},
		{[]string{"--app", "wiki"}, 1},
		{[]string{"--client-ip", "192.0.2.1", "--since", "minutes=9.5"}, 10},
		{[]string{"--since", "days=7"}, 151},
		{[]string{"--since", "240h", "--until", now.Add(-24 * time.Hour).Format(time.RFC3339)}, 1},
		{[]string{"--until", now.Add(-10 * 24 * time.Hour).Format(time.RFC3339)}, 0},
		{[]string{"--action", "logout"}, 0},
	} {
		args := append([]string{"events", "export"}, c.args...)
		if got := jsonl(t, h.ok("", args...)); len(got) != c.want {
			t.Errorf("events export %s: want %d events, got %d", strings.Join(c.args, " "), c.want, len(got))
		}
	}
}

func TestEventsExportCSV(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	seedEvents(t, h, 3)
	rows, err := csv.NewReader(strings.NewReader(h.ok("", "events", "export", "--format", "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("csv: want the header and 5 events, got %d rows, header %v", len(rows), rows[0])
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	login := rows[len(rows)-1]
	if login[col["action"]] != "login" || login[col["username"]] != "alice" || !strings.Contains(login[col["context"]], `"auth_method":"password"`) {
		t.Errorf("csv login row: %v", login)
	}
	if ua := login[col["user_agent"]]; ua != "'=cmd|' /C calc'!A0" {
		t.Errorf("a user agent that looks like a formula must be defused with a quote, got %q", ua)
	}
	if rows[2][col["impersonator_username"]] != "akadmin" {
		t.Errorf("csv impersonator: got %v", rows[2])
	}
	// An empty export still has its header.
	if out := h.ok("", "events", "export", "--format", "csv", "--action", "logout"); out != strings.Join(csvHeader, ",")+"\n" {
		t.Errorf("empty csv export: want only the header, got %q", out)
	}
}

func TestEventsExportErrors(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	h.fails(2, []string{`--format: must be jsonl or csv, not "xml"`}, "", "events", "export", "--format", "xml")
	h.fails(2, []string{`--since: "yesterday" is neither an RFC 3339 time nor a positive duration`}, "", "events", "export", "--since", "yesterday")
	h.fails(2, []string{`--until: "days=-1" is neither`}, "", "events", "export", "--until", "days=-1")
	h.fails(2, []string{`--tenant: no tenant with domain "nowhere.example"`}, "", "events", "export", "--tenant", "nowhere.example")
	h.fails(2, []string{`unexpected argument "login"`}, "", "events", "export", "login")
}

func TestEventsRetention(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	if got := h.ok("", "events", "retention"); got != "days=365\n" {
		t.Errorf("default retention: want days=365, got %q", got)
	}
	if got := h.ok("", "events", "retention", "--set", "days=30"); got != "days=30\n" {
		t.Errorf("--set days=30: printed %q", got)
	}
	if got := h.ok("", "events", "retention", "--set", "36h"); got != "seconds=129600\n" {
		t.Errorf("--set 36h: printed %q", got)
	}
	_, sc := h.app()
	e := &store.Event{Action: "login"}
	if err := sc.Events().Create(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if d := e.Expires.Sub(e.CreatedAt); d != 36*time.Hour {
		t.Errorf("an event after --set 36h: want it to expire 36h after it was created, got %v", d)
	}
	for _, bad := range []string{"0", "days=-1", "1.5s", "forever"} {
		h.fails(2, []string{fmt.Sprintf("--set: %q is not a positive whole number of seconds", bad)}, "", "events", "retention", "--set", bad)
	}
}
