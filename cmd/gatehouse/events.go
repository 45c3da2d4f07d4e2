package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func init() {
	register(command{name: "events export", summary: "write audit events as JSON lines or CSV", run: runEventsExport})
	register(command{name: "events retention", summary: "show or set how long a tenant keeps its events", run: runEventsRetention})
}

func runEventsExport(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("events export", "[flags]",
		"Write a tenant's audit events, oldest first, to standard output as JSON lines or CSV.\n"+
			"Times are RFC 3339 (2025-01-31T00:00:00Z) or a duration back from now (days=7, 24h).")
	format := fs.String("format", "jsonl", "jsonl or csv")
	var q store.EventQuery
	fs.StringVar(&q.Action, "action", "", "only this action, e.g. login_failed")
	fs.StringVar(&q.Username, "username", "", "only events of this user")
	fs.StringVar(&q.App, "app", "", "only events of this application (slug)")
	fs.StringVar(&q.ClientIP, "client-ip", "", "only events from this client IP")
	since := fs.String("since", "", "only events created at or after this time")
	until := fs.String("until", "", "only events created before this time")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	now := time.Now()
	var err error
	if q.Since, err = parseWhen("--since", *since, now); err != nil {
		return err
	}
	if q.Until, err = parseWhen("--until", *until, now); err != nil {
		return err
	}
	var w eventWriter
	switch *format {
	case "jsonl":
		bw := bufio.NewWriter(a.stdout)
		w = &jsonLines{w: bw, enc: json.NewEncoder(bw)}
	case "csv":
		w = &csvRows{w: csv.NewWriter(a.stdout)}
	default:
		return usagef("--format: must be jsonl or csv, not %q", *format)
	}
	return a.withScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		return exportEvents(ctx, sc, q, w)
	})
}

// parseWhen reads a --since/--until value: an RFC 3339 time, or a
// duration meaning that long before now.
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := config.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usagef("%s: %q is neither an RFC 3339 time nor a positive duration (e.g. 2025-01-31T00:00:00Z, days=7, 24h)", flag, v)
}

// eventWriter is one export format.
type eventWriter interface {
	write(tenant uuid.UUID, e *store.Event) error
	// flush ends a page, so a reader sees events as they are read.
	flush() error
}

// exportEvents pages through the events with After, so the export holds
// one page in memory and no long-running query, however many there are.
func exportEvents(ctx context.Context, sc store.Scope, q store.EventQuery, w eventWriter) error {
	q.Ordering = "created"
	q.Page = store.Page{Size: store.MaxPageSize}
	for {
		list, _, err := sc.Events().List(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range list {
			if err := w.write(sc.TenantID(), e); err != nil {
				return err
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
		if len(list) < q.Page.Size {
			return nil
		}
		q.After = list[len(list)-1]
	}
}

// exportedUser is a user as the export names it: Authentik's {pk, username}.
type exportedUser struct {
	PK       string `json:"pk"`
	Username string `json:"username"`
}

func userOf(id uuid.NullUUID, name string) *exportedUser {
	if !id.Valid && name == "" {
		return nil
	}
	u := &exportedUser{Username: name}
	if id.Valid {
		u.PK = id.UUID.String()
	}
	return u
}

// exportedEvent follows the field names of Authentik's event API.
type exportedEvent struct {
	PK           string         `json:"pk"`
	Created      time.Time      `json:"created"`
	Action       string         `json:"action"`
	User         *exportedUser  `json:"user"`
	Impersonator *exportedUser  `json:"impersonator,omitempty"`
	App          string         `json:"app"`
	ClientIP     string         `json:"client_ip"`
	UserAgent    string         `json:"user_agent"`
	Tenant       string         `json:"tenant"`
	Context      map[string]any `json:"context"`
	Expires      time.Time      `json:"expires"`
}

type jsonLines struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func (j *jsonLines) write(tenant uuid.UUID, e *store.Event) error {
	return j.enc.Encode(exportedEvent{PK: e.ID.String(), Created: e.CreatedAt, Action: e.Action,
		User: userOf(e.UserID, e.Username), Impersonator: userOf(e.ImpersonatorID, e.ImpersonatorUsername),
		App: e.App, ClientIP: e.ClientIP, UserAgent: e.UserAgent, Tenant: tenant.String(), Context: e.Context, Expires: e.Expires})
}

func (j *jsonLines) flush() error { return j.w.Flush() }

var csvHeader = []string{"pk", "created", "action", "user_pk", "username", "impersonator_pk", "impersonator_username",
	"app", "client_ip", "user_agent", "tenant", "context", "expires"}

type csvRows struct {
	w      *csv.Writer
	header bool
}

func (c *csvRows) write(tenant uuid.UUID, e *store.Event) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(csvHeader); err != nil {
			return err
		}
	}
	ctx, err := json.Marshal(e.Context)
	if err != nil {
		return err
	}
	id := func(n uuid.NullUUID) string {
		if n.Valid {
			return n.UUID.String()
		}
		return ""
	}
	return c.w.Write([]string{e.ID.String(), e.CreatedAt.Format(time.RFC3339Nano), e.Action,
		id(e.UserID), cell(e.Username), id(e.ImpersonatorID), cell(e.ImpersonatorUsername), cell(e.App),
		cell(e.ClientIP), cell(e.UserAgent), tenant.String(), string(ctx), e.Expires.Format(time.RFC3339Nano)})
}

func (c *csvRows) flush() error {
	if !c.header {
		// An export that matched nothing still says what it would hold.
		c.header = true
		if err := c.w.Write(csvHeader); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

// cell defuses spreadsheet formulas: user agents and usernames come from
// clients, and a cell starting with = + - @ would run when an auditor
// opens the file (OWASP "CSV injection"). The quote shows as text.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func runEventsRetention(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("events retention", "[--set DURATION] [--tenant T]",
		"Print how long the tenant keeps new audit events (default days=365), or change it with --set.\n"+
			"Events already recorded keep the expiry they were given; the hourly events.retention job deletes expired ones.")
	set := fs.String("set", "", "new retention, e.g. days=90 or 2160h (whole seconds)")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	var d time.Duration
	if *set != "" {
		var err error
		d, err = config.ParseDuration(*set)
		if err != nil || d < time.Second || d%time.Second != 0 {
			return usagef("--set: %q is not a positive whole number of seconds (e.g. days=90, 2160h)", *set)
		}
	}
	return a.withScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		if d > 0 {
			if err := x.db.Tenants().SetEventRetention(ctx, sc.TenantID(), d); err != nil {
				return describe(err, map[string]string{"event_retention": "--set"})
			}
		}
		t, err := x.db.Tenants().Get(ctx, sc.TenantID())
		if err != nil {
			return err
		}
		if d > 0 {
			x.modelEvent(ctx, sc, "model_updated", "authentik_tenants.tenant", t.ID, t.Name,
				map[string]any{"event_retention": formatRetention(d)})
		}
		fmt.Fprintln(a.stdout, formatRetention(t.EventRetention))
		return nil
	})
}

// formatRetention prints whole days in Authentik's syntax, which --set
// and Authentik's settings both read back.
func formatRetention(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("days=%d", d/(24*time.Hour))
	}
	return fmt.Sprintf("seconds=%d", d/time.Second)
}
