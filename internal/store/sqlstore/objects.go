package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// objects serves every table of named, typed configuration (stages,
// policies, prompts): same columns, same rules, one implementation. table
// comes from a fixed list in scope, never from input.
type objects struct {
	*scope
	table string
}

func (sc *scope) Stages() store.Objects           { return objects{sc, "stages"} }
func (sc *scope) Policies() store.Objects         { return objects{sc, "policies"} }
func (sc *scope) Prompts() store.Objects          { return objects{sc, "prompts"} }
func (sc *scope) PropertyMappings() store.Objects { return objects{sc, "property_mappings"} }

const objectColumns = `id, name, kind, config, created_at, updated_at, version`

func scanObject(r rowScanner) (*store.Object, error) {
	var o store.Object
	var cfg []byte
	var cr, upd int64
	if err := r.Scan(&o.ID, &o.Name, &o.Kind, &cfg, &cr, &upd, &o.Version); err != nil {
		return nil, err
	}
	o.Config = json.RawMessage(cfg)
	o.CreatedAt, o.UpdatedAt = store.FromMicros(cr), store.FromMicros(upd)
	return &o, nil
}

func configText(c json.RawMessage) string {
	if len(c) == 0 {
		return "{}"
	}
	return string(c)
}

func (s objects) Create(ctx context.Context, o *store.Object) error {
	if o.ID == uuid.Nil {
		o.ID = uuid.Must(uuid.NewV7())
	}
	o.Name = strings.TrimSpace(o.Name)
	if err := o.Validate(); err != nil {
		return err
	}
	now := s.s.nowTime()
	o.CreatedAt, o.UpdatedAt, o.Version = now, now, 1
	_, err := s.q.ExecContext(ctx, `INSERT INTO `+s.table+` (tenant_id, `+objectColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.tenant, o.ID, o.Name, o.Kind, configText(o.Config), store.Micros(o.CreatedAt), store.Micros(o.UpdatedAt), o.Version)
	return s.err(err)
}

func (s objects) one(ctx context.Context, where string, arg any) (*store.Object, error) {
	o, err := scanObject(s.q.QueryRowContext(ctx, `SELECT `+objectColumns+` FROM `+s.table+`
		WHERE tenant_id = $1 AND `+where, s.tenant, arg))
	if err != nil {
		return nil, s.err(err)
	}
	return o, nil
}

func (s objects) Get(ctx context.Context, id uuid.UUID) (*store.Object, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s objects) GetByName(ctx context.Context, name string) (*store.Object, error) {
	return s.one(ctx, `name = $2`, name)
}

func (s objects) GetMany(ctx context.Context, ids []uuid.UUID) ([]*store.Object, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{s.tenant}
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = "$" + itoa(i+2)
	}
	return s.list(ctx, `SELECT `+objectColumns+` FROM `+s.table+` WHERE tenant_id = $1 AND id IN (`+
		strings.Join(ph, ", ")+`)`, args...)
}

func (s objects) list(ctx context.Context, q string, args ...any) ([]*store.Object, error) {
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []*store.Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, o)
	}
	return out, s.err(rows.Err())
}

func (s objects) List(ctx context.Context, q store.ObjectQuery) ([]*store.Object, int, error) {
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
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM `+s.table+` WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	p := q.Page.Normalize()
	out, err := s.list(ctx, `SELECT `+objectColumns+` FROM `+s.table+` WHERE `+cond+
		` ORDER BY name, id LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), args...)
	return out, total, err
}

func (s objects) Update(ctx context.Context, id uuid.UUID, fn func(*store.Object) error) (*store.Object, error) {
	return casUpdate(ctx, s.scope, s.rows(), id, -1, fn)
}

func (s objects) UpdateIfVersion(ctx context.Context, id uuid.UUID, version int64, fn func(*store.Object) error) (*store.Object, error) {
	return casUpdate(ctx, s.scope, s.rows(), id, version, fn)
}

// rows is the compare-and-swap shape of s's table.
func (s objects) rows() versioned[store.Object] {
	return versioned[store.Object]{
		get: func(ctx context.Context, sc *scope, id uuid.UUID) (*store.Object, error) {
			return objects{sc, s.table}.Get(ctx, id)
		},
		owned: func(o *store.Object) owned { return owned{&o.ID, &o.CreatedAt, &o.UpdatedAt, &o.Version} },
		prepare: func(_ context.Context, _ *scope, o, _ *store.Object) error {
			o.Name = strings.TrimSpace(o.Name)
			return o.Validate()
		},
		write: func(ctx context.Context, sc *scope, o, old *store.Object) (sql.Result, error) {
			return sc.q.ExecContext(ctx, `UPDATE `+s.table+` SET name = $3, kind = $4, config = $5, updated_at = $6,
				version = $7 WHERE tenant_id = $1 AND id = $2 AND version = $8`,
				sc.tenant, o.ID, o.Name, o.Kind, configText(o.Config), store.Micros(o.UpdatedAt), o.Version, old.Version)
		},
	}
}

// Delete removes the object and the policy bindings that target it.
func (s objects) Delete(ctx context.Context, id uuid.UUID) error {
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := tx.(*scope)
		res, err := sc.q.ExecContext(ctx, `DELETE FROM `+s.table+` WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
		if err := sc.exactlyOne(res, err); err != nil {
			return err
		}
		return sc.PolicyBindings().DeleteForTarget(ctx, id)
	})
}
