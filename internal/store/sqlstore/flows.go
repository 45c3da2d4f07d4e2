package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type flows struct{ *scope }

func (sc *scope) Flows() store.Flows { return flows{sc} }

const flowColumns = `id, slug, name, title, designation, authentication, denied_action, layout, background,
	policy_engine_mode, created_at, updated_at, version`

func scanFlow(r rowScanner) (*store.Flow, error) {
	var f store.Flow
	var cr, upd int64
	if err := r.Scan(&f.ID, &f.Slug, &f.Name, &f.Title, &f.Designation, &f.Authentication, &f.DeniedAction,
		&f.Layout, &f.Background, &f.PolicyEngineMode, &cr, &upd, &f.Version); err != nil {
		return nil, err
	}
	f.CreatedAt, f.UpdatedAt = store.FromMicros(cr), store.FromMicros(upd)
	return &f, nil
}

func (s flows) Create(ctx context.Context, f *store.Flow) error {
	if f.ID == uuid.Nil {
		f.ID = uuid.Must(uuid.NewV7())
	}
	f.Normalize()
	if err := f.Validate(); err != nil {
		return err
	}
	now := s.s.nowTime()
	f.CreatedAt, f.UpdatedAt, f.Version = now, now, 1
	_, err := s.q.ExecContext(ctx, `INSERT INTO flows (tenant_id, `+flowColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		s.tenant, f.ID, f.Slug, f.Name, f.Title, f.Designation, f.Authentication, f.DeniedAction, f.Layout,
		f.Background, f.PolicyEngineMode, store.Micros(f.CreatedAt), store.Micros(f.UpdatedAt), f.Version)
	return s.err(err)
}

func (s flows) one(ctx context.Context, where string, arg any) (*store.Flow, error) {
	f, err := scanFlow(s.q.QueryRowContext(ctx, `SELECT `+flowColumns+` FROM flows WHERE tenant_id = $1 AND `+where,
		s.tenant, arg))
	if err != nil {
		return nil, s.err(err)
	}
	return f, nil
}

func (s flows) Get(ctx context.Context, id uuid.UUID) (*store.Flow, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s flows) GetBySlug(ctx context.Context, slug string) (*store.Flow, error) {
	return s.one(ctx, `slug = $2`, slug)
}

var flowOrderings = map[string]string{"slug": "slug", "name": "lower(name)", "designation": "designation"}

func (s flows) List(ctx context.Context, q store.FlowQuery) ([]*store.Flow, int, error) {
	cond, args := "tenant_id = $1", []any{s.tenant}
	if q.Designation != "" {
		args = append(args, q.Designation)
		cond += " AND designation = $" + itoa(len(args))
	}
	if q.Search != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(q.Search))+"%")
		p := "$" + itoa(len(args))
		cond += " AND (slug " + s.s.d.ilike() + " " + p + " ESCAPE '\\' OR lower(name) " + s.s.d.ilike() + " " + p + " ESCAPE '\\')"
	}
	var total int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM flows WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	order, err := orderBy(q.Ordering, "slug", flowOrderings)
	if err != nil {
		return nil, 0, err
	}
	p := q.Page.Normalize()
	rows, err := s.q.QueryContext(ctx, `SELECT `+flowColumns+` FROM flows WHERE `+cond+` ORDER BY `+order+
		`, id LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), args...)
	if err != nil {
		return nil, 0, s.err(err)
	}
	defer rows.Close()
	var out []*store.Flow
	for rows.Next() {
		f, err := scanFlow(rows)
		if err != nil {
			return nil, 0, s.err(err)
		}
		out = append(out, f)
	}
	return out, total, s.err(rows.Err())
}

func (s flows) Update(ctx context.Context, id uuid.UUID, fn func(*store.Flow) error) (*store.Flow, error) {
	return casUpdate(ctx, s.scope, flowRows, id, -1, fn)
}

func (s flows) UpdateIfVersion(ctx context.Context, id uuid.UUID, version int64, fn func(*store.Flow) error) (*store.Flow, error) {
	return casUpdate(ctx, s.scope, flowRows, id, version, fn)
}

var flowRows = versioned[store.Flow]{
	get:   func(ctx context.Context, sc *scope, id uuid.UUID) (*store.Flow, error) { return flows{sc}.Get(ctx, id) },
	owned: func(f *store.Flow) owned { return owned{&f.ID, &f.CreatedAt, &f.UpdatedAt, &f.Version} },
	prepare: func(_ context.Context, _ *scope, f, _ *store.Flow) error {
		f.Normalize()
		return f.Validate()
	},
	write: func(ctx context.Context, sc *scope, f, old *store.Flow) (sql.Result, error) {
		return sc.q.ExecContext(ctx, `UPDATE flows SET slug = $3, name = $4, title = $5, designation = $6,
			authentication = $7, denied_action = $8, layout = $9, background = $10, policy_engine_mode = $11,
			updated_at = $12, version = $13 WHERE tenant_id = $1 AND id = $2 AND version = $14`,
			sc.tenant, f.ID, f.Slug, f.Name, f.Title, f.Designation, f.Authentication, f.DeniedAction, f.Layout,
			f.Background, f.PolicyEngineMode, store.Micros(f.UpdatedAt), f.Version, old.Version)
	},
}

func (s flows) Delete(ctx context.Context, id uuid.UUID) error {
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := tx.(*scope)
		// Policy bindings on the flow's stage bindings go first; the stage
		// bindings themselves cascade with the flow.
		if _, err := sc.q.ExecContext(ctx, `DELETE FROM policy_bindings WHERE tenant_id = $1 AND target_id IN
			(SELECT id FROM flow_stage_bindings WHERE tenant_id = $1 AND flow_id = $2)`, s.tenant, id); err != nil {
			return sc.err(err)
		}
		res, err := sc.q.ExecContext(ctx, `DELETE FROM flows WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
		if err := sc.exactlyOne(res, err); err != nil {
			return err
		}
		return sc.PolicyBindings().DeleteForTarget(ctx, id)
	})
}
