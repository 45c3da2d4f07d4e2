package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type sessions struct{ *scope }

const sessionColumns = `id, key_hash, user_id, ip, user_agent, data, created_at, last_seen, expires`

func scanSession(r rowScanner) (*store.Session, error) {
	var s store.Session
	var cr, seen, exp int64
	if err := r.Scan(&s.ID, &s.KeyHash, &s.UserID, &s.IP, &s.UserAgent, &s.Data, &cr, &seen, &exp); err != nil {
		return nil, err
	}
	s.CreatedAt, s.LastSeen, s.Expires = store.FromMicros(cr), store.FromMicros(seen), store.FromMicros(exp)
	return &s, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (s sessions) Create(ctx context.Context, se *store.Session) error {
	if se.ID == uuid.Nil {
		se.ID = uuid.Must(uuid.NewV7())
	}
	if len(se.KeyHash) != 32 {
		return store.Invalid("key", "must be stored as a SHA-256 hash")
	}
	now := s.s.nowTime()
	se.CreatedAt, se.LastSeen = now, now
	se.UserAgent = clip(se.UserAgent, store.MaxUserAgentLen)
	_, err := s.q.ExecContext(ctx, `INSERT INTO sessions (tenant_id, `+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.tenant, se.ID, se.KeyHash, se.UserID, se.IP, se.UserAgent, se.Data,
		store.Micros(se.CreatedAt), store.Micros(se.LastSeen), store.Micros(se.Expires))
	return s.err(err)
}

func (s sessions) one(ctx context.Context, where string, arg any) (*store.Session, error) {
	se, err := scanSession(s.q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE tenant_id = $1 AND `+where, s.tenant, arg))
	if err != nil {
		return nil, s.err(err)
	}
	return se, nil
}

func (s sessions) GetByKeyHash(ctx context.Context, hash []byte) (*store.Session, error) {
	return s.one(ctx, `key_hash = $2`, hash)
}

func (s sessions) Get(ctx context.Context, id uuid.UUID) (*store.Session, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s sessions) Save(ctx context.Context, se *store.Session) error {
	se.UserAgent = clip(se.UserAgent, store.MaxUserAgentLen)
	res, err := s.q.ExecContext(ctx, `UPDATE sessions SET key_hash = $3, user_id = $4, ip = $5, user_agent = $6,
		data = $7, last_seen = $8, expires = $9 WHERE tenant_id = $1 AND id = $2`,
		s.tenant, se.ID, se.KeyHash, se.UserID, se.IP, se.UserAgent, se.Data, store.Micros(se.LastSeen), store.Micros(se.Expires))
	return s.exactlyOne(res, err)
}

func (s sessions) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
	return s.exactlyOne(res, err)
}

func (s sessions) ListForUser(ctx context.Context, userID uuid.UUID) ([]*store.Session, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE tenant_id = $1 AND user_id = $2
		ORDER BY last_seen DESC, id`, s.tenant, userID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []*store.Session
	for rows.Next() {
		se, err := scanSession(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, se)
	}
	return out, s.err(rows.Err())
}

func (s sessions) DeleteForUser(ctx context.Context, userID, keep uuid.UUID) (int, error) {
	return s.deleteCount(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND id <> $3`,
		s.tenant, userID, keep)
}

func (s sessions) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return s.deleteCount(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND expires <= $2`, s.tenant, store.Micros(now))
}

func (s sessions) CountActive(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE tenant_id = $1 AND user_id IS NOT NULL
		AND expires > $2`, s.tenant, store.Micros(now)).Scan(&n)
	return n, s.err(err)
}
