package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type applications struct{ *scope }

func (sc *scope) Applications() store.Applications { return applications{sc} }

const appColumns = `id, name, slug, group_name, provider_id, launch_url, icon, description, publisher, open_in_new_tab,
	policy_engine_mode, created_at, updated_at, version`

func scanApp(r rowScanner) (*store.Application, error) {
	var a store.Application
	var cr, upd int64
	if err := r.Scan(&a.ID, &a.Name, &a.Slug, &a.Group, &a.ProviderID, &a.LaunchURL, &a.Icon, &a.Description,
		&a.Publisher, &a.OpenInNewTab, &a.PolicyEngineMode, &cr, &upd, &a.Version); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = store.FromMicros(cr), store.FromMicros(upd)
	return &a, nil
}

func (s applications) Create(ctx context.Context, a *store.Application) error {
	if a.ID == uuid.Nil {
		a.ID = uuid.Must(uuid.NewV7())
	}
	if a.PolicyEngineMode == "" {
		a.PolicyEngineMode = "any"
	}
	a.Name = strings.TrimSpace(a.Name)
	if err := a.Validate(); err != nil {
		return err
	}
	now := s.s.nowTime()
	a.CreatedAt, a.UpdatedAt, a.Version = now, now, 1
	_, err := s.q.ExecContext(ctx, `INSERT INTO applications (tenant_id, `+appColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		s.tenant, a.ID, a.Name, a.Slug, a.Group, a.ProviderID, a.LaunchURL, a.Icon, a.Description, a.Publisher,
		a.OpenInNewTab, a.PolicyEngineMode, store.Micros(a.CreatedAt), store.Micros(a.UpdatedAt), a.Version)
	return s.err(err)
}

func (s applications) one(ctx context.Context, where string, arg any) (*store.Application, error) {
	a, err := scanApp(s.q.QueryRowContext(ctx, `SELECT `+appColumns+` FROM applications WHERE tenant_id = $1 AND `+where,
		s.tenant, arg))
	if err != nil {
		return nil, s.err(err)
	}
	return a, nil
}

func (s applications) Get(ctx context.Context, id uuid.UUID) (*store.Application, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s applications) GetBySlug(ctx context.Context, slug string) (*store.Application, error) {
	return s.one(ctx, `slug = $2`, slug)
}

func (s applications) GetByProvider(ctx context.Context, id uuid.UUID) (*store.Application, error) {
	return s.one(ctx, `provider_id = $2`, id)
}

func (s applications) List(ctx context.Context, q store.ApplicationQuery) ([]*store.Application, int, error) {
	cond, args := "tenant_id = $1", []any{s.tenant}
	if q.Search != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(q.Search))+"%")
		cond += " AND (lower(name) " + s.s.d.ilike() + " $2 ESCAPE '\\' OR slug " + s.s.d.ilike() + " $2 ESCAPE '\\')"
	}
	var total int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM applications WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	p := q.Page.Normalize()
	rows, err := s.q.QueryContext(ctx, `SELECT `+appColumns+` FROM applications WHERE `+cond+
		` ORDER BY lower(name), id LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), args...)
	if err != nil {
		return nil, 0, s.err(err)
	}
	defer rows.Close()
	var out []*store.Application
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, 0, s.err(err)
		}
		out = append(out, a)
	}
	return out, total, s.err(rows.Err())
}

func (s applications) Update(ctx context.Context, id uuid.UUID, fn func(*store.Application) error) (*store.Application, error) {
	return casUpdate(ctx, s.scope, appRows, id, -1, fn)
}

func (s applications) UpdateIfVersion(ctx context.Context, id uuid.UUID, v int64, fn func(*store.Application) error) (*store.Application, error) {
	return casUpdate(ctx, s.scope, appRows, id, v, fn)
}

var appRows = versioned[store.Application]{
	get: func(ctx context.Context, sc *scope, id uuid.UUID) (*store.Application, error) {
		return applications{sc}.Get(ctx, id)
	},
	owned: func(a *store.Application) owned { return owned{&a.ID, &a.CreatedAt, &a.UpdatedAt, &a.Version} },
	prepare: func(_ context.Context, _ *scope, a, _ *store.Application) error {
		a.Name = strings.TrimSpace(a.Name)
		return a.Validate()
	},
	write: func(ctx context.Context, sc *scope, a, old *store.Application) (sql.Result, error) {
		return sc.q.ExecContext(ctx, `UPDATE applications SET name = $3, slug = $4, group_name = $5, provider_id = $6,
			launch_url = $7, icon = $8, description = $9, publisher = $10, open_in_new_tab = $11, policy_engine_mode = $12,
			updated_at = $13, version = $14 WHERE tenant_id = $1 AND id = $2 AND version = $15`,
			sc.tenant, a.ID, a.Name, a.Slug, a.Group, a.ProviderID, a.LaunchURL, a.Icon, a.Description, a.Publisher,
			a.OpenInNewTab, a.PolicyEngineMode, store.Micros(a.UpdatedAt), a.Version, old.Version)
	},
}

func (s applications) Delete(ctx context.Context, id uuid.UUID) error {
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := tx.(*scope)
		res, err := sc.q.ExecContext(ctx, `DELETE FROM applications WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
		if err := sc.exactlyOne(res, err); err != nil {
			return err
		}
		return sc.PolicyBindings().DeleteForTarget(ctx, id)
	})
}

type providers struct{ *scope }

func (sc *scope) Providers() store.Providers { return providers{sc} }

const providerColumns = `id, name, kind, client_id, secret_enc, config, created_at, updated_at, version`

func scanProvider(r rowScanner) (*store.Provider, error) {
	var p store.Provider
	var clientID *string
	var cfg []byte
	var cr, upd int64
	if err := r.Scan(&p.ID, &p.Name, &p.Kind, &clientID, &p.SecretEnc, &cfg, &cr, &upd, &p.Version); err != nil {
		return nil, err
	}
	if clientID != nil {
		p.ClientID = *clientID
	}
	p.Config = json.RawMessage(cfg)
	p.CreatedAt, p.UpdatedAt = store.FromMicros(cr), store.FromMicros(upd)
	return &p, nil
}

// nullable stores "" as NULL, so providers without a client ID do not
// collide on the unique index.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s providers) Create(ctx context.Context, p *store.Provider) error {
	if p.ID == uuid.Nil {
		p.ID = uuid.Must(uuid.NewV7())
	}
	p.Name = strings.TrimSpace(p.Name)
	if err := p.Validate(); err != nil {
		return err
	}
	now := s.s.nowTime()
	p.CreatedAt, p.UpdatedAt, p.Version = now, now, 1
	_, err := s.q.ExecContext(ctx, `INSERT INTO providers (tenant_id, `+providerColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.tenant, p.ID, p.Name, p.Kind, nullable(p.ClientID), p.SecretEnc, configText(p.Config),
		store.Micros(p.CreatedAt), store.Micros(p.UpdatedAt), p.Version)
	return s.err(err)
}

func (s providers) one(ctx context.Context, where string, arg any) (*store.Provider, error) {
	p, err := scanProvider(s.q.QueryRowContext(ctx, `SELECT `+providerColumns+` FROM providers WHERE tenant_id = $1 AND `+where,
		s.tenant, arg))
	if err != nil {
		return nil, s.err(err)
	}
	return p, nil
}

func (s providers) Get(ctx context.Context, id uuid.UUID) (*store.Provider, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s providers) GetByName(ctx context.Context, name string) (*store.Provider, error) {
	return s.one(ctx, `name = $2`, name)
}

func (s providers) GetByClientID(ctx context.Context, clientID string) (*store.Provider, error) {
	if clientID == "" {
		return nil, store.ErrNotFound
	}
	return s.one(ctx, `client_id = $2`, clientID)
}

func (s providers) List(ctx context.Context, q store.ObjectQuery) ([]*store.Provider, int, error) {
	cond, args := "tenant_id = $1", []any{s.tenant}
	if q.Kind != "" {
		args = append(args, q.Kind)
		cond += " AND kind = $" + itoa(len(args))
	}
	if q.Search != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(q.Search))+"%")
		cond += " AND lower(name) " + s.s.d.ilike() + " $" + itoa(len(args)) + " ESCAPE '\\'"
	}
	var total int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM providers WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	p := q.Page.Normalize()
	rows, err := s.q.QueryContext(ctx, `SELECT `+providerColumns+` FROM providers WHERE `+cond+
		` ORDER BY name, id LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), args...)
	if err != nil {
		return nil, 0, s.err(err)
	}
	defer rows.Close()
	var out []*store.Provider
	for rows.Next() {
		pr, err := scanProvider(rows)
		if err != nil {
			return nil, 0, s.err(err)
		}
		out = append(out, pr)
	}
	return out, total, s.err(rows.Err())
}

func (s providers) Update(ctx context.Context, id uuid.UUID, fn func(*store.Provider) error) (*store.Provider, error) {
	return casUpdate(ctx, s.scope, providerRows, id, -1, fn)
}

func (s providers) UpdateIfVersion(ctx context.Context, id uuid.UUID, v int64, fn func(*store.Provider) error) (*store.Provider, error) {
	return casUpdate(ctx, s.scope, providerRows, id, v, fn)
}

var providerRows = versioned[store.Provider]{
	get: func(ctx context.Context, sc *scope, id uuid.UUID) (*store.Provider, error) {
		return providers{sc}.Get(ctx, id)
	},
	owned: func(p *store.Provider) owned { return owned{&p.ID, &p.CreatedAt, &p.UpdatedAt, &p.Version} },
	prepare: func(_ context.Context, _ *scope, p, _ *store.Provider) error {
		p.Name = strings.TrimSpace(p.Name)
		return p.Validate()
	},
	write: func(ctx context.Context, sc *scope, p, old *store.Provider) (sql.Result, error) {
		return sc.q.ExecContext(ctx, `UPDATE providers SET name = $3, kind = $4, client_id = $5, secret_enc = $6,
			config = $7, updated_at = $8, version = $9 WHERE tenant_id = $1 AND id = $2 AND version = $10`,
			sc.tenant, p.ID, p.Name, p.Kind, nullable(p.ClientID), p.SecretEnc, configText(p.Config), store.Micros(p.UpdatedAt),
			p.Version, old.Version)
	},
}

func (s providers) Delete(ctx context.Context, id uuid.UUID) error {
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := tx.(*scope)
		if _, err := sc.q.ExecContext(ctx, `UPDATE applications SET provider_id = NULL, version = version + 1
			WHERE tenant_id = $1 AND provider_id = $2`, s.tenant, id); err != nil {
			return sc.err(err)
		}
		res, err := sc.q.ExecContext(ctx, `DELETE FROM providers WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
		return sc.exactlyOne(res, err)
	})
}

type artifacts struct{ *scope }

func (sc *scope) Artifacts() store.Artifacts { return artifacts{sc} }

const artifactColumns = `id, kind, key_hash, alt_key, provider_id, user_id, session_id, grant_id, data, expires, consumed_at, created_at`

func scanArtifact(r rowScanner) (*store.Artifact, error) {
	var a store.Artifact
	var alt *string
	var data []byte
	var exp, cons, cr int64
	if err := r.Scan(&a.ID, &a.Kind, &a.KeyHash, &alt, &a.ProviderID, &a.UserID, &a.SessionID, &a.GrantID, &data,
		&exp, &cons, &cr); err != nil {
		return nil, err
	}
	if alt != nil {
		a.AltKey = *alt
	}
	a.Data = json.RawMessage(data)
	a.Expires, a.ConsumedAt, a.CreatedAt = store.FromMicros(exp), store.FromMicros(cons), store.FromMicros(cr)
	return &a, nil
}

func (s artifacts) Create(ctx context.Context, a *store.Artifact) error {
	if a.ID == uuid.Nil {
		a.ID = uuid.Must(uuid.NewV7())
	}
	if a.GrantID == uuid.Nil {
		a.GrantID = a.ID
	}
	if len(a.KeyHash) != 32 || a.Kind == "" || a.Expires.IsZero() {
		return store.Invalid("key", "an artifact needs a kind, a SHA-256 key hash and an expiry")
	}
	if len(a.Data) > store.MaxConfigLen {
		return store.Invalid("data", "must be at most %d bytes", store.MaxConfigLen)
	}
	a.CreatedAt = s.s.nowTime()
	_, err := s.q.ExecContext(ctx, `INSERT INTO artifacts (tenant_id, `+artifactColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		s.tenant, a.ID, a.Kind, a.KeyHash, nullable(a.AltKey), a.ProviderID, a.UserID, a.SessionID, a.GrantID,
		configText(a.Data), store.Micros(a.Expires), store.Micros(a.ConsumedAt), store.Micros(a.CreatedAt))
	return s.err(err)
}

func (s artifacts) one(ctx context.Context, where string, args ...any) (*store.Artifact, error) {
	a, err := scanArtifact(s.q.QueryRowContext(ctx, `SELECT `+artifactColumns+` FROM artifacts WHERE tenant_id = $1 AND `+where,
		append([]any{s.tenant}, args...)...))
	if err != nil {
		return nil, s.err(err)
	}
	return a, nil
}

func (s artifacts) GetByKey(ctx context.Context, kind string, hash []byte) (*store.Artifact, error) {
	return s.one(ctx, `kind = $2 AND key_hash = $3`, kind, hash)
}

func (s artifacts) GetByAltKey(ctx context.Context, kind, alt string) (*store.Artifact, error) {
	return s.one(ctx, `kind = $2 AND alt_key = $3`, kind, alt)
}

func (s artifacts) Get(ctx context.Context, id uuid.UUID) (*store.Artifact, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s artifacts) Consume(ctx context.Context, id uuid.UUID, at time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE artifacts SET consumed_at = $3 WHERE tenant_id = $1 AND id = $2 AND consumed_at = 0`,
		s.tenant, id, store.Micros(at))
	if err := s.exactlyOne(res, err); err != store.ErrNotFound {
		return err
	}
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	return store.ErrConflict
}

func (s artifacts) ConsumeGrant(ctx context.Context, grantID uuid.UUID, at time.Time) (int, error) {
	return s.deleteCount(ctx, `UPDATE artifacts SET consumed_at = $3 WHERE tenant_id = $1 AND grant_id = $2 AND consumed_at = 0`,
		s.tenant, grantID, store.Micros(at))
}

func (s artifacts) ConsumeSession(ctx context.Context, sessionID uuid.UUID, at time.Time) (int, error) {
	return s.deleteCount(ctx, `UPDATE artifacts SET consumed_at = $3 WHERE tenant_id = $1 AND session_id = $2 AND consumed_at = 0`,
		s.tenant, sessionID, store.Micros(at))
}

func (s artifacts) ConsumeForUser(ctx context.Context, userID, keep uuid.UUID, at time.Time) (int, error) {
	return s.deleteCount(ctx, `UPDATE artifacts SET consumed_at = $4 WHERE tenant_id = $1 AND user_id = $2
		AND consumed_at = 0 AND (session_id IS NULL OR session_id <> $3)`, s.tenant, userID, keep, store.Micros(at))
}

func (s artifacts) SetData(ctx context.Context, id uuid.UUID, userID uuid.NullUUID, data json.RawMessage) error {
	res, err := s.q.ExecContext(ctx, `UPDATE artifacts SET data = $3, user_id = $4 WHERE tenant_id = $1 AND id = $2 AND consumed_at = 0`,
		s.tenant, id, configText(data), userID)
	return s.exactlyOne(res, err)
}

func (s artifacts) ListForUser(ctx context.Context, userID uuid.UUID, kind string) ([]*store.Artifact, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+artifactColumns+` FROM artifacts WHERE tenant_id = $1 AND user_id = $2
		AND kind = $3 ORDER BY created_at DESC, id LIMIT 1000`, s.tenant, userID, kind)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []*store.Artifact
	for rows.Next() {
		a, err := scanArtifact(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, a)
	}
	return out, s.err(rows.Err())
}

func (s artifacts) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return s.deleteCount(ctx, `DELETE FROM artifacts WHERE tenant_id = $1 AND expires <= $2`, s.tenant, store.Micros(now))
}
