package sqlstore

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type events struct{ *scope }

const eventColumns = `id, action, user_id, username, impersonator_id, impersonator_username, app, client_ip, user_agent,
	context, created_at, expires`

// eventDeleteBatch bounds one retention DELETE: on SQLite it is the time
// the single writer lock is held, on PostgreSQL the rows one statement
// locks and the WAL it writes at once. A variable so tests can make it small.
var eventDeleteBatch = 5000

// maxEventField bounds the copied names: they are indexed, and PostgreSQL
// refuses an index entry over about 2.7 kB rather than truncating it.
const maxEventField = store.MaxIdentifierLen

// Create computes Expires in the INSERT itself from the tenant's setting,
// so recording an event stays one round trip on the login path.
func (s events) Create(ctx context.Context, e *store.Event) error {
	if e.Action == "" || len(e.Action) > 100 {
		return store.Invalid("action", "must be 1 to 100 characters")
	}
	if e.ID == uuid.Nil {
		e.ID = uuid.Must(uuid.NewV7())
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.s.nowTime()
	}
	if e.Context == nil {
		e.Context = map[string]any{}
	}
	v := &store.ValidationError{}
	b := store.ValidateJSON(v, "context", e.Context, store.MaxEventContextLen)
	if err := v.Err(); err != nil {
		return err
	}
	e.Username, e.ImpersonatorUsername = clip(e.Username, maxEventField), clip(e.ImpersonatorUsername, maxEventField)
	e.App, e.ClientIP = clip(e.App, maxEventField), clip(e.ClientIP, maxEventField)
	e.UserAgent = clip(e.UserAgent, store.MaxUserAgentLen)
	// A missing tenant leaves the subquery NULL; the default then lets the
	// foreign key report it as ErrNotFound, as for any other row.
	var exp int64
	err := s.q.QueryRowContext(ctx, `INSERT INTO events (tenant_id, `+eventColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
			COALESCE(NULLIF(CAST($13 AS BIGINT), 0), CAST($12 AS BIGINT) + 1000000 *
				COALESCE((SELECT event_retention_seconds FROM tenants WHERE id = $1), $14)))
		RETURNING expires`,
		s.tenant, e.ID, e.Action, e.UserID, e.Username, e.ImpersonatorID, e.ImpersonatorUsername, e.App, e.ClientIP,
		e.UserAgent, string(b), store.Micros(e.CreatedAt), store.Micros(e.Expires), int64(store.DefaultEventRetention/time.Second)).Scan(&exp)
	if err != nil {
		return s.err(err)
	}
	e.Expires = store.FromMicros(exp)
	return nil
}

func (s events) List(ctx context.Context, q store.EventQuery) ([]*store.Event, int, error) {
	var desc bool
	switch q.Ordering {
	case "", "-created":
		desc = true
	case "created":
	default:
		return nil, 0, store.Invalid("ordering", "must be created or -created, not %q", q.Ordering)
	}
	cond, args := "tenant_id = $1", []any{s.tenant}
	add := func(sql string, v any) {
		args = append(args, v)
		cond += " AND " + strings.ReplaceAll(sql, "?", "$"+itoa(len(args)))
	}
	for _, f := range []struct{ col, v string }{
		{"action", q.Action}, {"username", q.Username}, {"app", q.App}, {"client_ip", q.ClientIP},
	} {
		if f.v != "" {
			add(f.col+" = ?", f.v)
		}
	}
	if !q.Since.IsZero() {
		add("created_at >= ?", store.Micros(q.Since))
	}
	if !q.Until.IsZero() {
		add("created_at < ?", store.Micros(q.Until))
	}
	total := 0
	if q.After == nil {
		// Counting stops at the cap, so a filter matching millions costs
		// no more than one matching ten thousand.
		err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM events WHERE `+cond+
			` LIMIT `+itoa(store.MaxEventCount)+`) capped`, args...).Scan(&total)
		if err != nil {
			return nil, 0, s.err(err)
		}
	}
	p := q.Page.Normalize()
	order, cmp, offset := "created_at, id", ">", p.Offset()
	if desc {
		order, cmp = "created_at DESC, id DESC", "<"
	}
	if q.After != nil {
		// A row-value comparison is one range on the (…, created_at, id)
		// indexes on both engines; id breaks ties between equal times.
		args = append(args, store.Micros(q.After.CreatedAt), q.After.ID)
		cond += " AND (created_at, id) " + cmp + " ($" + itoa(len(args)-1) + ", $" + itoa(len(args)) + ")"
		offset = 0
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE `+cond+
		` ORDER BY `+order+` LIMIT `+itoa(p.Size)+` OFFSET `+itoa(offset), args...)
	out, err := scanAll(s.scope, rows, err, scanEvent)
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func scanEvent(r rowScanner) (*store.Event, error) {
	var e store.Event
	var raw []byte
	var cr, exp int64
	if err := r.Scan(&e.ID, &e.Action, &e.UserID, &e.Username, &e.ImpersonatorID, &e.ImpersonatorUsername,
		&e.App, &e.ClientIP, &e.UserAgent, &raw, &cr, &exp); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &e.Context); err != nil {
		return nil, err
	}
	e.CreatedAt, e.Expires = store.FromMicros(cr), store.FromMicros(exp)
	return &e, nil
}

// Get reads one event by its primary key, within the tenant.
func (s events) Get(ctx context.Context, id uuid.UUID) (*store.Event, error) {
	e, err := scanEvent(s.q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE tenant_id = $1 AND id = $2`,
		s.tenant, id))
	if err != nil {
		return nil, s.err(err)
	}
	return e, nil
}

func (s events) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		// Neither engine has a portable DELETE ... LIMIT; the subquery
		// picks one batch. Ordering by expiry keeps it on events_expires:
		// unordered, PostgreSQL scans the table from its start, past
		// every row the previous batches deleted.
		n, err := s.deleteCount(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events
			WHERE tenant_id = $1 AND expires <= $2 ORDER BY expires LIMIT `+itoa(eventDeleteBatch)+`)`, s.tenant, store.Micros(now))
		total += n
		if err != nil || n < eventDeleteBatch {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
