package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type invitations struct{ *scope }

func (sc *scope) Invitations() store.Invitations { return invitations{sc} }

const invitationColumns = `id, name, flow_slug, single_use, created_by, fixed_data, expires, created_at`

func scanInvitation(r rowScanner) (*store.Invitation, error) {
	var i store.Invitation
	var fixed []byte
	var exp, cr int64
	if err := r.Scan(&i.ID, &i.Name, &i.FlowSlug, &i.SingleUse, &i.CreatedBy, &fixed, &exp, &cr); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(fixed, &i.FixedData); err != nil {
		return nil, err
	}
	i.Expires, i.CreatedAt = store.FromMicros(exp), store.FromMicros(cr)
	return &i, nil
}

func (s invitations) Create(ctx context.Context, i *store.Invitation) error {
	if i.ID == uuid.Nil {
		i.ID = uuid.Must(uuid.NewV7())
	}
	if i.FixedData == nil {
		i.FixedData = map[string]any{}
	}
	if err := i.Validate(); err != nil {
		return err
	}
	i.CreatedAt = s.s.nowTime()
	_, err := s.q.ExecContext(ctx, `INSERT INTO invitations (tenant_id, `+invitationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, s.tenant, i.ID, i.Name, i.FlowSlug, i.SingleUse, i.CreatedBy,
		encodeAttributes(i.FixedData), store.Micros(i.Expires), store.Micros(i.CreatedAt))
	return s.err(err)
}

func (s invitations) Get(ctx context.Context, id uuid.UUID) (*store.Invitation, error) {
	i, err := scanInvitation(s.q.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations
		WHERE tenant_id = $1 AND id = $2`, s.tenant, id))
	if err != nil {
		return nil, s.err(err)
	}
	return i, nil
}

func (s invitations) List(ctx context.Context, page store.Page) ([]*store.Invitation, int, error) {
	var total int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM invitations WHERE tenant_id = $1`, s.tenant).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	p := page.Normalize()
	rows, err := s.q.QueryContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE tenant_id = $1
		ORDER BY created_at DESC, id LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), s.tenant)
	if err != nil {
		return nil, 0, s.err(err)
	}
	defer rows.Close()
	var out []*store.Invitation
	for rows.Next() {
		i, err := scanInvitation(rows)
		if err != nil {
			return nil, 0, s.err(err)
		}
		out = append(out, i)
	}
	return out, total, s.err(rows.Err())
}

// Use checks and consumes in one statement: a single-use invitation is
// deleted by the DELETE that finds it live, so of two concurrent uses the
// second finds no row; the row lock (PostgreSQL) or the single writer
// (SQLite) orders them.
func (s invitations) Use(ctx context.Context, id uuid.UUID, flowSlug string, now time.Time) (*store.Invitation, error) {
	const live = `tenant_id = $1 AND id = $2 AND (expires = 0 OR expires > $3) AND (flow_slug = '' OR flow_slug = $4)`
	args := []any{s.tenant, id, store.Micros(now), flowSlug}
	i, err := scanInvitation(s.q.QueryRowContext(ctx, `DELETE FROM invitations WHERE `+live+` AND single_use
		RETURNING `+invitationColumns, args...))
	if errors.Is(err, sql.ErrNoRows) {
		i, err = scanInvitation(s.q.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations
			WHERE `+live+` AND NOT single_use`, args...))
	}
	if err != nil {
		return nil, s.err(err)
	}
	return i, nil
}

func (s invitations) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM invitations WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
	return s.exactlyOne(res, err)
}

type flowTokens struct{ *scope }

func (sc *scope) FlowTokens() store.FlowTokens { return flowTokens{sc} }

func (s flowTokens) Create(ctx context.Context, t *store.FlowToken) error {
	if t.ID == uuid.Nil {
		t.ID = uuid.Must(uuid.NewV7())
	}
	if len(t.KeyHash) != 32 {
		return store.Invalid("key", "must be stored as a SHA-256 hash")
	}
	t.CreatedAt = s.s.nowTime()
	_, err := s.q.ExecContext(ctx, `INSERT INTO flow_tokens (tenant_id, id, key_hash, flow_slug, plan, expires, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.tenant, t.ID, t.KeyHash, t.FlowSlug, t.Plan, store.Micros(t.Expires), store.Micros(t.CreatedAt))
	return s.err(err)
}

func (s flowTokens) GetByKeyHash(ctx context.Context, hash []byte) (*store.FlowToken, error) {
	var t store.FlowToken
	var exp, cr int64
	err := s.q.QueryRowContext(ctx, `SELECT id, key_hash, flow_slug, plan, expires, created_at FROM flow_tokens
		WHERE tenant_id = $1 AND key_hash = $2`, s.tenant, hash).Scan(&t.ID, &t.KeyHash, &t.FlowSlug, &t.Plan, &exp, &cr)
	if err != nil {
		return nil, s.err(err)
	}
	t.Expires, t.CreatedAt = store.FromMicros(exp), store.FromMicros(cr)
	return &t, nil
}

func (s flowTokens) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM flow_tokens WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
	return s.exactlyOne(res, err)
}

func (s flowTokens) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return s.deleteCount(ctx, `DELETE FROM flow_tokens WHERE tenant_id = $1 AND expires <= $2`, s.tenant, store.Micros(now))
}

type consents struct{ *scope }

func (sc *scope) Consents() store.Consents { return consents{sc} }

const consentColumns = `id, user_id, target, permissions, expires, created_at`

func scanConsent(r rowScanner) (*store.Consent, error) {
	var c store.Consent
	var perms string
	var exp, cr int64
	if err := r.Scan(&c.ID, &c.UserID, &c.Target, &perms, &exp, &cr); err != nil {
		return nil, err
	}
	if perms != "" {
		c.Permissions = strings.Split(perms, " ")
	}
	c.Expires, c.CreatedAt = store.FromMicros(exp), store.FromMicros(cr)
	return &c, nil
}

func (s consents) Get(ctx context.Context, userID uuid.UUID, target string, now time.Time) (*store.Consent, error) {
	c, err := scanConsent(s.q.QueryRowContext(ctx, `SELECT `+consentColumns+` FROM user_consents
		WHERE tenant_id = $1 AND user_id = $2 AND target = $3 AND (expires = 0 OR expires > $4)`,
		s.tenant, userID, target, store.Micros(now)))
	if err != nil {
		return nil, s.err(err)
	}
	return c, nil
}

func (s consents) Put(ctx context.Context, c *store.Consent) error {
	if c.Target == "" {
		return store.Invalid("target", "is required")
	}
	for _, p := range c.Permissions {
		if p == "" || strings.ContainsAny(p, " \t\n") {
			return store.Invalid("permissions", "%q is not a permission", p)
		}
	}
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := tx.(*scope)
		if _, err := sc.q.ExecContext(ctx, `DELETE FROM user_consents WHERE tenant_id = $1 AND user_id = $2 AND target = $3`,
			s.tenant, c.UserID, c.Target); err != nil {
			return sc.err(err)
		}
		c.ID, c.CreatedAt = uuid.Must(uuid.NewV7()), s.s.nowTime()
		_, err := sc.q.ExecContext(ctx, `INSERT INTO user_consents (tenant_id, `+consentColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.tenant, c.ID, c.UserID, c.Target, strings.Join(c.Permissions, " "),
			store.Micros(c.Expires), store.Micros(c.CreatedAt))
		return sc.err(err)
	})
}

func (s consents) ListForUser(ctx context.Context, userID uuid.UUID) ([]*store.Consent, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+consentColumns+` FROM user_consents WHERE tenant_id = $1 AND user_id = $2
		ORDER BY created_at, id`, s.tenant, userID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []*store.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, c)
	}
	return out, s.err(rows.Err())
}

func (s consents) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM user_consents WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
	return s.exactlyOne(res, err)
}

type reputation struct{ *scope }

func (sc *scope) Reputation() store.Reputation { return reputation{sc} }

// Adjust is one upsert; the clamp is a CASE so both engines share it
// (PostgreSQL's GREATEST/LEAST and SQLite's MAX/MIN differ).
func (s reputation) Adjust(ctx context.Context, identifier, ip string, delta, lower, upper int, expires time.Time) error {
	identifier = clip(identifier, 255)
	start := min(max(delta, lower), upper)
	_, err := s.q.ExecContext(ctx, `INSERT INTO reputation (tenant_id, identifier, ip, score, updated_at, expires)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (tenant_id, identifier, ip) DO UPDATE SET
			score = CASE WHEN reputation.score + $7 < $8 THEN $8
			             WHEN reputation.score + $7 > $9 THEN $9
			             ELSE reputation.score + $7 END,
			updated_at = $5, expires = $6`,
		s.tenant, identifier, ip, start, store.Micros(s.s.nowTime()), store.Micros(expires), delta, lower, upper)
	return s.err(err)
}

func (s reputation) Scores(ctx context.Context, identifier, ip string, now time.Time) (int, int, error) {
	var byID, byIP int
	err := s.q.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(CASE WHEN identifier = $2 THEN score ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN ip = $3 THEN score ELSE 0 END), 0)
		FROM reputation WHERE tenant_id = $1 AND (identifier = $2 OR ip = $3) AND expires > $4`,
		s.tenant, clip(identifier, 255), ip, store.Micros(now)).Scan(&byID, &byIP)
	return byID, byIP, s.err(err)
}

func (s reputation) Score(ctx context.Context, identifier, ip string, now time.Time) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COALESCE(SUM(score), 0) FROM reputation
		WHERE tenant_id = $1 AND ((identifier = $2 AND identifier <> '') OR (ip = $3 AND ip <> '')) AND expires > $4`,
		s.tenant, clip(identifier, 255), ip, store.Micros(now)).Scan(&n)
	return n, s.err(err)
}

func (s reputation) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return s.deleteCount(ctx, `DELETE FROM reputation WHERE tenant_id = $1 AND expires <= $2`, s.tenant, store.Micros(now))
}
