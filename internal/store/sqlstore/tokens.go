package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type tokens struct{ *scope }

const tokenColumns = `id, identifier, key_hash, intent, user_id, description, expires, created_at`

func scanToken(r rowScanner) (*store.Token, error) {
	var t store.Token
	var exp, cr int64
	if err := r.Scan(&t.ID, &t.Identifier, &t.KeyHash, &t.Intent, &t.UserID, &t.Description, &exp, &cr); err != nil {
		return nil, err
	}
	t.Expires, t.CreatedAt = store.FromMicros(exp), store.FromMicros(cr)
	return &t, nil
}

func (s tokens) Create(ctx context.Context, t *store.Token) error {
	if t.ID == uuid.Nil {
		t.ID = uuid.Must(uuid.NewV7())
	}
	if err := t.Validate(); err != nil {
		return err
	}
	t.CreatedAt = s.s.nowTime()
	_, err := s.q.ExecContext(ctx, `INSERT INTO tokens (tenant_id, `+tokenColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		s.tenant, t.ID, t.Identifier, t.KeyHash, t.Intent, t.UserID, t.Description, store.Micros(t.Expires), store.Micros(t.CreatedAt))
	return s.err(err)
}

func (s tokens) one(ctx context.Context, where string, args ...any) (*store.Token, error) {
	t, err := scanToken(s.q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE tenant_id = $1 AND `+where,
		append([]any{s.tenant}, args...)...))
	if err != nil {
		return nil, s.err(err)
	}
	return t, nil
}

func (s tokens) Get(ctx context.Context, id uuid.UUID) (*store.Token, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s tokens) GetByIdentifier(ctx context.Context, userID uuid.UUID, identifier string) (*store.Token, error) {
	if userID != uuid.Nil {
		return s.one(ctx, `user_id = $2 AND identifier = $3`, userID, identifier)
	}
	ts, err := s.list(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE tenant_id = $1 AND identifier = $2 LIMIT 2`,
		s.tenant, identifier)
	switch {
	case err != nil:
		return nil, err
	case len(ts) == 0:
		return nil, store.ErrNotFound
	case len(ts) > 1:
		return nil, store.ErrConflict
	}
	return ts[0], nil
}

func (s tokens) GetByKeyHash(ctx context.Context, hash []byte) (*store.Token, error) {
	return s.one(ctx, `key_hash = $2`, hash)
}

func (s tokens) ListForUser(ctx context.Context, userID uuid.UUID) ([]*store.Token, error) {
	return s.list(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE tenant_id = $1 AND user_id = $2
		ORDER BY created_at, id`, s.tenant, userID)
}

func (s tokens) list(ctx context.Context, q string, args ...any) ([]*store.Token, error) {
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []*store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, t)
	}
	return out, s.err(rows.Err())
}

func (s tokens) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM tokens WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
	return s.exactlyOne(res, err)
}

func (s tokens) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return s.deleteCount(ctx, `DELETE FROM tokens WHERE tenant_id = $1 AND expires > 0 AND expires <= $2`, s.tenant, store.Micros(now))
}

func (sc *scope) deleteCount(ctx context.Context, q string, args ...any) (int, error) {
	res, err := sc.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, sc.err(err)
	}
	n, err := res.RowsAffected()
	return int(n), sc.err(err)
}
