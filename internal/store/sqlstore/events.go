package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type events struct{ *scope }

const eventColumns = `id, action, user_id, username, app, client_ip, context, created_at, expires`

// DefaultEventRetention is Authentik's default event_retention (days=365).
const DefaultEventRetention = 365 * 24 * time.Hour

func (s events) Create(ctx context.Context, e *store.Event) error {
	if e.ID == uuid.Nil {
		e.ID = uuid.Must(uuid.NewV7())
	}
	if e.Action == "" || len(e.Action) > 100 {
		return store.Invalid("action", "must be 1 to 100 characters")
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.s.nowTime()
	}
	if e.Expires.IsZero() {
		e.Expires = e.CreatedAt.Add(DefaultEventRetention)
	}
	if e.Context == nil {
		e.Context = map[string]any{}
	}
	b, err := json.Marshal(e.Context)
	if err != nil {
		return store.Invalid("context", "cannot be encoded as JSON")
	}
	_, err = s.q.ExecContext(ctx, `INSERT INTO events (tenant_id, `+eventColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.tenant, e.ID, e.Action, e.UserID, e.Username, e.App, e.ClientIP, string(b), micros(e.CreatedAt), micros(e.Expires))
	return s.err(err)
}

func (s events) List(ctx context.Context, q store.EventQuery) ([]*store.Event, int, error) {
	cond, args := "tenant_id = $1", []any{s.tenant}
	if q.Action != "" {
		args = append(args, q.Action)
		cond += " AND action = $" + itoa(len(args))
	}
	if q.Username != "" {
		args = append(args, q.Username)
		cond += " AND username = $" + itoa(len(args))
	}
	if !q.Since.IsZero() {
		args = append(args, micros(q.Since))
		cond += " AND created_at >= $" + itoa(len(args))
	}
	var total int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	p := q.Page.Normalize()
	rows, err := s.q.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE `+cond+
		` ORDER BY created_at DESC, id DESC LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), args...)
	if err != nil {
		return nil, 0, s.err(err)
	}
	defer rows.Close()
	var out []*store.Event
	for rows.Next() {
		var e store.Event
		var raw []byte
		var cr, exp int64
		if err := rows.Scan(&e.ID, &e.Action, &e.UserID, &e.Username, &e.App, &e.ClientIP, &raw, &cr, &exp); err != nil {
			return nil, 0, s.err(err)
		}
		if err := json.Unmarshal(raw, &e.Context); err != nil {
			return nil, 0, err
		}
		e.CreatedAt, e.Expires = fromMicros(cr), fromMicros(exp)
		out = append(out, &e)
	}
	return out, total, s.err(rows.Err())
}

func (s events) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return s.deleteCount(ctx, `DELETE FROM events WHERE tenant_id = $1 AND expires <= $2`, s.tenant, micros(now))
}
