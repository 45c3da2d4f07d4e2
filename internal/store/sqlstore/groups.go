package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type groups struct{ *scope }

const groupColumns = `id, name, parent_id, is_superuser, attributes, created_at, updated_at, version`

func scanGroup(r rowScanner) (*store.Group, error) {
	var (
		g       store.Group
		attrs   []byte
		cr, upd int64
	)
	if err := r.Scan(&g.ID, &g.Name, &g.ParentID, &g.IsSuperuser, &attrs, &cr, &upd, &g.Version); err != nil {
		return nil, err
	}
	if err := decodeAttributes(attrs, &g.Attributes); err != nil {
		return nil, err
	}
	g.CreatedAt, g.UpdatedAt = store.FromMicros(cr), store.FromMicros(upd)
	return &g, nil
}

func (s groups) Create(ctx context.Context, g *store.Group) error {
	if g.ID == uuid.Nil {
		g.ID = uuid.Must(uuid.NewV7())
	}
	if g.Attributes == nil {
		g.Attributes = store.Attributes{}
	}
	if err := g.Validate(); err != nil {
		return err
	}
	now := s.s.nowTime()
	g.CreatedAt, g.UpdatedAt, g.Version = now, now, 1
	_, err := s.q.ExecContext(ctx, `INSERT INTO groups (tenant_id, `+groupColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		s.tenant, g.ID, strings.TrimSpace(g.Name), g.ParentID, g.IsSuperuser, encodeAttributes(g.Attributes),
		store.Micros(g.CreatedAt), store.Micros(g.UpdatedAt), g.Version)
	return s.err(err)
}

func (s groups) one(ctx context.Context, where string, args ...any) (*store.Group, error) {
	args = append([]any{s.tenant}, args...)
	g, err := scanGroup(s.q.QueryRowContext(ctx,
		`SELECT `+groupColumns+` FROM groups WHERE tenant_id = $1 AND `+where, args...))
	if err != nil {
		return nil, s.err(err)
	}
	return g, nil
}

func (s groups) Get(ctx context.Context, id uuid.UUID) (*store.Group, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s groups) GetByName(ctx context.Context, name string) (*store.Group, error) {
	return s.one(ctx, `lower(name) = lower($2)`, name)
}

var groupOrderings = map[string]string{"name": "lower(name)", "created": "created_at"}

func (s groups) List(ctx context.Context, q store.GroupQuery) ([]*store.Group, int, error) {
	cond, args := "tenant_id = $1", []any{s.tenant}
	if q.Search != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(q.Search))+"%")
		cond += " AND lower(name) " + s.s.d.ilike() + " $2 ESCAPE '\\'"
	}
	var total int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM groups WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	order, err := orderBy(q.Ordering, "name", groupOrderings)
	if err != nil {
		return nil, 0, err
	}
	p := q.Page.Normalize()
	out, err := s.list(ctx, `SELECT `+groupColumns+` FROM groups WHERE `+cond+` ORDER BY `+order+
		`, id LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), args...)
	return out, total, err
}

func (s groups) list(ctx context.Context, q string, args ...any) ([]*store.Group, error) {
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []*store.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, g)
	}
	return out, s.err(rows.Err())
}

// Update runs in a transaction so the cycle check and the write see the
// same hierarchy.
func (s groups) Update(ctx context.Context, id uuid.UUID, fn func(*store.Group) error) (*store.Group, error) {
	return casUpdate(ctx, s.scope, groupRows, id, -1, fn)
}

var groupRows = versioned[store.Group]{
	inTx: true,
	get: func(ctx context.Context, sc *scope, id uuid.UUID) (*store.Group, error) {
		return groups{sc}.Get(ctx, id)
	},
	owned: func(g *store.Group) owned { return owned{&g.ID, &g.CreatedAt, &g.UpdatedAt, &g.Version} },
	prepare: func(ctx context.Context, sc *scope, g, old *store.Group) error {
		g.Name = strings.TrimSpace(g.Name)
		if g.Attributes == nil {
			g.Attributes = store.Attributes{}
		}
		if err := g.Validate(); err != nil {
			return err
		}
		if g.ParentID.Valid && g.ParentID != old.ParentID {
			return groups{sc}.checkNoCycle(ctx, g.ID, g.ParentID.UUID)
		}
		return nil
	},
	write: func(ctx context.Context, sc *scope, g, old *store.Group) (sql.Result, error) {
		return sc.q.ExecContext(ctx, `UPDATE groups SET name = $3, parent_id = $4, is_superuser = $5,
			attributes = $6, updated_at = $7, version = $8 WHERE tenant_id = $1 AND id = $2 AND version = $9`,
			sc.tenant, g.ID, g.Name, g.ParentID, g.IsSuperuser, encodeAttributes(g.Attributes),
			store.Micros(g.UpdatedAt), g.Version, old.Version)
	},
}

// checkNoCycle refuses parent when group is parent itself or one of its ancestors.
func (s groups) checkNoCycle(ctx context.Context, group, parent uuid.UUID) error {
	var n int
	err := s.q.QueryRowContext(ctx, `WITH RECURSIVE anc(id) AS (
			SELECT id FROM groups WHERE tenant_id = $1 AND id = $2
			UNION
			SELECT g.parent_id FROM groups g JOIN anc ON g.id = anc.id
			WHERE g.tenant_id = $1 AND g.parent_id IS NOT NULL)
		SELECT count(*) FROM anc WHERE id = $3`, s.tenant, parent, group).Scan(&n)
	if err != nil {
		return s.err(err)
	}
	if n > 0 {
		return store.Invalid("parent", "would make the group its own ancestor")
	}
	// The parent must exist in this tenant; the foreign key says so too,
	// but this gives the field a name.
	if _, err := s.Get(ctx, parent); err != nil {
		if err == store.ErrNotFound {
			return store.Invalid("parent", "no such group")
		}
		return err
	}
	return nil
}

func (s groups) Delete(ctx context.Context, id uuid.UUID) error {
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := tx.(*scope)
		// Children move up to the top level rather than blocking the delete.
		if _, err := sc.q.ExecContext(ctx, `UPDATE groups SET parent_id = NULL, version = version + 1
			WHERE tenant_id = $1 AND parent_id = $2`, s.tenant, id); err != nil {
			return sc.err(err)
		}
		// Rules lose their destination, as Authentik's SET_NULL.
		if _, err := sc.q.ExecContext(ctx, `UPDATE notification_rules SET group_id = NULL, version = version + 1
			WHERE tenant_id = $1 AND group_id = $2`, s.tenant, id); err != nil {
			return sc.err(err)
		}
		res, err := sc.q.ExecContext(ctx, `DELETE FROM groups WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
		return sc.exactlyOne(res, err)
	})
}

func (s groups) AddMember(ctx context.Context, groupID, userID uuid.UUID) error {
	// The composite foreign keys make a group or user of another tenant
	// look missing; ON CONFLICT makes adding a member twice harmless.
	_, err := s.q.ExecContext(ctx, `INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, s.tenant, groupID, userID)
	return s.err(err)
}

func (s groups) RemoveMember(ctx context.Context, groupID, userID uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3`,
		s.tenant, groupID, userID)
	return s.exactlyOne(res, err)
}

func (s groups) Members(ctx context.Context, groupID uuid.UUID) ([]uuid.UUID, error) {
	if _, err := s.Get(ctx, groupID); err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT user_id FROM group_members WHERE tenant_id = $1 AND group_id = $2
		ORDER BY user_id`, s.tenant, groupID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, s.err(err)
		}
		out = append(out, id)
	}
	return out, s.err(rows.Err())
}

// effectiveGroupsCTE yields the ids of a user's groups and all their
// ancestors ($1 tenant, $2 user). UNION, not UNION ALL, ends the recursion
// even if a cycle slipped in.
const effectiveGroupsCTE = `WITH RECURSIVE eff(id) AS (
		SELECT group_id FROM group_members WHERE tenant_id = $1 AND user_id = $2
		UNION
		SELECT g.parent_id FROM groups g JOIN eff ON g.id = eff.id
		WHERE g.tenant_id = $1 AND g.parent_id IS NOT NULL)`

func (s groups) ForUser(ctx context.Context, userID uuid.UUID, effective bool) ([]*store.Group, error) {
	if effective {
		return s.list(ctx, effectiveGroupsCTE+` SELECT `+groupColumns+` FROM groups
			WHERE tenant_id = $1 AND id IN (SELECT id FROM eff) ORDER BY lower(name), id`, s.tenant, userID)
	}
	return s.list(ctx, `SELECT `+groupColumns+` FROM groups WHERE tenant_id = $1
		AND id IN (SELECT group_id FROM group_members WHERE tenant_id = $1 AND user_id = $2)
		ORDER BY lower(name), id`, s.tenant, userID)
}
