package sqlstore

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type roles struct{ *scope }

func (s roles) Create(ctx context.Context, r *store.Role) error {
	if r.ID == uuid.Nil {
		r.ID = uuid.Must(uuid.NewV7())
	}
	r.Name = strings.TrimSpace(r.Name)
	r.Permissions = normalizePerms(r.Permissions)
	if err := r.Validate(); err != nil {
		return err
	}
	r.CreatedAt = s.s.nowTime()
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := tx.(*scope)
		if _, err := sc.q.ExecContext(ctx, `INSERT INTO roles (tenant_id, id, name, created_at) VALUES ($1, $2, $3, $4)`,
			s.tenant, r.ID, r.Name, micros(r.CreatedAt)); err != nil {
			return sc.err(err)
		}
		return roles{sc}.insertPerms(ctx, r.ID, r.Permissions)
	})
}

func normalizePerms(p []string) []string {
	p = slices.Clone(p)
	slices.Sort(p)
	return slices.Compact(p)
}

func (s roles) insertPerms(ctx context.Context, id uuid.UUID, perms []string) error {
	for _, p := range perms {
		if _, err := s.q.ExecContext(ctx, `INSERT INTO role_permissions (tenant_id, role_id, permission) VALUES ($1, $2, $3)`,
			s.tenant, id, p); err != nil {
			return s.err(err)
		}
	}
	return nil
}

// withPerms loads the permissions of many roles in one query.
func (s roles) withPerms(ctx context.Context, rs []*store.Role) ([]*store.Role, error) {
	if len(rs) == 0 {
		return rs, nil
	}
	byID := make(map[uuid.UUID]*store.Role, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
	}
	rows, err := s.q.QueryContext(ctx, `SELECT role_id, permission FROM role_permissions WHERE tenant_id = $1
		ORDER BY permission`, s.tenant)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, s.err(err)
		}
		if r := byID[id]; r != nil {
			r.Permissions = append(r.Permissions, p)
		}
	}
	return rs, s.err(rows.Err())
}

func (s roles) query(ctx context.Context, q string, args ...any) ([]*store.Role, error) {
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.err(err)
	}
	var out []*store.Role
	for rows.Next() {
		var r store.Role
		var cr int64
		if err := rows.Scan(&r.ID, &r.Name, &cr); err != nil {
			rows.Close()
			return nil, s.err(err)
		}
		r.CreatedAt = fromMicros(cr)
		out = append(out, &r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.err(err)
	}
	return s.withPerms(ctx, out)
}

func (s roles) one(ctx context.Context, where string, arg any) (*store.Role, error) {
	rs, err := s.query(ctx, `SELECT id, name, created_at FROM roles WHERE tenant_id = $1 AND `+where, s.tenant, arg)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, store.ErrNotFound
	}
	return rs[0], nil
}

func (s roles) Get(ctx context.Context, id uuid.UUID) (*store.Role, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s roles) GetByName(ctx context.Context, name string) (*store.Role, error) {
	return s.one(ctx, `lower(name) = lower($2)`, name)
}

func (s roles) List(ctx context.Context) ([]*store.Role, error) {
	return s.query(ctx, `SELECT id, name, created_at FROM roles WHERE tenant_id = $1 ORDER BY lower(name), id`, s.tenant)
}

func (s roles) SetPermissions(ctx context.Context, id uuid.UUID, perms []string) error {
	r := &store.Role{Name: "x", Permissions: normalizePerms(perms)}
	if err := r.Validate(); err != nil {
		return err
	}
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := roles{tx.(*scope)}
		if _, err := sc.Get(ctx, id); err != nil {
			return err
		}
		if _, err := sc.q.ExecContext(ctx, `DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2`,
			s.tenant, id); err != nil {
			return sc.err(err)
		}
		return sc.insertPerms(ctx, id, r.Permissions)
	})
}

func (s roles) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM roles WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
	return s.exactlyOne(res, err)
}

func (s roles) AssignToGroup(ctx context.Context, roleID, groupID uuid.UUID) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO group_roles (tenant_id, group_id, role_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, s.tenant, groupID, roleID)
	return s.err(err)
}

func (s roles) UnassignFromGroup(ctx context.Context, roleID, groupID uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM group_roles WHERE tenant_id = $1 AND group_id = $2 AND role_id = $3`,
		s.tenant, groupID, roleID)
	return s.exactlyOne(res, err)
}

func (s roles) ForUser(ctx context.Context, userID uuid.UUID) ([]*store.Role, error) {
	return s.query(ctx, effectiveGroupsCTE+` SELECT id, name, created_at FROM roles WHERE tenant_id = $1
		AND id IN (SELECT role_id FROM group_roles WHERE tenant_id = $1 AND group_id IN (SELECT id FROM eff))
		ORDER BY lower(name), id`, s.tenant, userID)
}
