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
			s.tenant, r.ID, r.Name, store.Micros(r.CreatedAt)); err != nil {
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
		r.CreatedAt = store.FromMicros(cr)
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
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := roles{tx.(*scope)}
		res, err := sc.q.ExecContext(ctx, `INSERT INTO group_roles (tenant_id, group_id, role_id) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, s.tenant, groupID, roleID)
		if err != nil {
			return sc.err(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return sc.err(err) // already assigned: nothing changed
		}
		return sc.touchGroup(ctx, groupID)
	})
}

func (s roles) UnassignFromGroup(ctx context.Context, roleID, groupID uuid.UUID) error {
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := roles{tx.(*scope)}
		res, err := sc.q.ExecContext(ctx, `DELETE FROM group_roles WHERE tenant_id = $1 AND group_id = $2 AND role_id = $3`,
			s.tenant, groupID, roleID)
		if err := sc.exactlyOne(res, err); err != nil {
			return err
		}
		return sc.touchGroup(ctx, groupID)
	})
}

// touchGroup bumps a group's version after its roles changed.
func (s roles) touchGroup(ctx context.Context, groupID uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `UPDATE groups SET version = version + 1, updated_at = $3
		WHERE tenant_id = $1 AND id = $2`, s.tenant, groupID, store.Micros(s.s.nowTime()))
	return s.exactlyOne(res, err)
}

// inList returns "$from, $from+1, ..." for n values.
func inList(from, n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = "$" + itoa(from+i)
	}
	return strings.Join(ph, ", ")
}

func (s roles) ForGroups(ctx context.Context, groupIDs []uuid.UUID) (map[uuid.UUID][]*store.Role, error) {
	out := map[uuid.UUID][]*store.Role{}
	if len(groupIDs) == 0 {
		return out, nil
	}
	args := []any{s.tenant}
	for _, id := range groupIDs {
		args = append(args, id)
	}
	rows, err := s.q.QueryContext(ctx, `SELECT gr.group_id, r.id, r.name, r.created_at FROM group_roles gr
		JOIN roles r ON r.tenant_id = gr.tenant_id AND r.id = gr.role_id
		WHERE gr.tenant_id = $1 AND gr.group_id IN (`+inList(2, len(groupIDs))+`)
		ORDER BY lower(r.name), r.id`, args...)
	if err != nil {
		return nil, s.err(err)
	}
	var all []*store.Role
	byGroup := map[*store.Role]uuid.UUID{}
	for rows.Next() {
		var (
			g  uuid.UUID
			r  store.Role
			cr int64
		)
		if err := rows.Scan(&g, &r.ID, &r.Name, &cr); err != nil {
			rows.Close()
			return nil, s.err(err)
		}
		r.CreatedAt = store.FromMicros(cr)
		all = append(all, &r)
		byGroup[&r] = g
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.err(err)
	}
	if _, err := s.withPerms(ctx, all); err != nil {
		return nil, err
	}
	for _, r := range all {
		out[byGroup[r]] = append(out[byGroup[r]], r)
	}
	return out, nil
}

func (s roles) SetForGroup(ctx context.Context, groupID uuid.UUID, roleIDs []uuid.UUID) error {
	want := map[uuid.UUID]bool{}
	var ids []uuid.UUID
	for _, id := range roleIDs {
		if !want[id] {
			want[id] = true
			ids = append(ids, id)
		}
	}
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := roles{tx.(*scope)}
		if _, err := groups(sc).Get(ctx, groupID); err != nil {
			return err
		}
		// Every role must exist here: checked before writing, so that a
		// foreign key error cannot abort the transaction half-way.
		if len(ids) > 0 {
			args := []any{s.tenant}
			for _, id := range ids {
				args = append(args, id)
			}
			found, err := sc.ids(ctx, `SELECT id FROM roles WHERE tenant_id = $1 AND id IN (`+inList(2, len(ids))+`)`, args...)
			if err != nil {
				return err
			}
			v := &store.ValidationError{}
			for _, id := range ids {
				if !found[id] {
					v.Add("roles", "no such role: %s", id)
				}
			}
			if err := v.Err(); err != nil {
				return err
			}
		}
		have, err := sc.ids(ctx, `SELECT role_id FROM group_roles WHERE tenant_id = $1 AND group_id = $2`, s.tenant, groupID)
		if err != nil {
			return err
		}
		changed := false
		for id := range have {
			if !want[id] {
				if _, err := sc.q.ExecContext(ctx, `DELETE FROM group_roles WHERE tenant_id = $1 AND group_id = $2 AND role_id = $3`,
					s.tenant, groupID, id); err != nil {
					return sc.err(err)
				}
				changed = true
			}
		}
		for _, id := range ids {
			if !have[id] {
				if _, err := sc.q.ExecContext(ctx, `INSERT INTO group_roles (tenant_id, group_id, role_id) VALUES ($1, $2, $3)`,
					s.tenant, groupID, id); err != nil {
					return sc.err(err)
				}
				changed = true
			}
		}
		if !changed {
			return nil
		}
		return sc.touchGroup(ctx, groupID)
	})
}

// ids reads a one-column query of IDs into a set.
func (s roles) ids(ctx context.Context, q string, args ...any) (map[uuid.UUID]bool, error) {
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	out := map[uuid.UUID]bool{}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, s.err(err)
		}
		out[id] = true
	}
	return out, s.err(rows.Err())
}

func (s roles) ForUser(ctx context.Context, userID uuid.UUID) ([]*store.Role, error) {
	return s.query(ctx, effectiveGroupsCTE+` SELECT id, name, created_at FROM roles WHERE tenant_id = $1
		AND id IN (SELECT role_id FROM group_roles WHERE tenant_id = $1 AND group_id IN (SELECT id FROM eff))
		ORDER BY lower(name), id`, s.tenant, userID)
}

func (s roles) AssignObjectPermissions(ctx context.Context, roleID, objectID uuid.UUID, perms []string) error {
	return s.eachObjectPerm(ctx, roleID, objectID, perms, `INSERT INTO role_object_permissions
		(tenant_id, role_id, permission, object_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`)
}

func (s roles) UnassignObjectPermissions(ctx context.Context, roleID, objectID uuid.UUID, perms []string) error {
	return s.eachObjectPerm(ctx, roleID, objectID, perms, `DELETE FROM role_object_permissions
		WHERE tenant_id = $1 AND role_id = $2 AND permission = $3 AND object_id = $4`)
}

// eachObjectPerm runs stmt ($1 tenant, $2 role, $3 permission, $4 object)
// for each permission, in one transaction, once the role is found.
func (s roles) eachObjectPerm(ctx context.Context, roleID, objectID uuid.UUID, perms []string, stmt string) error {
	perms, err := checkedPerms(perms)
	if err != nil {
		return err
	}
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := roles{tx.(*scope)}
		if _, err := sc.Get(ctx, roleID); err != nil {
			return err
		}
		for _, p := range perms {
			if _, err := sc.q.ExecContext(ctx, stmt, s.tenant, roleID, p, objectID); err != nil {
				return sc.err(err)
			}
		}
		return nil
	})
}

// checkedPerms normalizes perms and refuses what is not a permission name.
func checkedPerms(perms []string) ([]string, error) {
	r := &store.Role{Name: "x", Permissions: normalizePerms(perms)}
	return r.Permissions, r.Validate()
}

func (s roles) ObjectPermissions(ctx context.Context, roleID, objectID uuid.UUID) ([]store.ObjectPermission, error) {
	return s.objectPerms(ctx, `SELECT role_id, permission, object_id FROM role_object_permissions
		WHERE tenant_id = $1 AND (CAST($2 AS TEXT) = '' OR role_id = $3) AND (CAST($4 AS TEXT) = '' OR object_id = $5)
		ORDER BY role_id, permission, object_id`,
		s.tenant, optionalID(roleID), roleID, optionalID(objectID), objectID)
}

func (s roles) ObjectPermissionsForUser(ctx context.Context, userID uuid.UUID) ([]store.ObjectPermission, error) {
	return s.objectPerms(ctx, effectiveGroupsCTE+` SELECT role_id, permission, object_id FROM role_object_permissions
		WHERE tenant_id = $1 AND role_id IN (SELECT role_id FROM group_roles WHERE tenant_id = $1 AND group_id IN (SELECT id FROM eff))
		ORDER BY role_id, permission, object_id`, s.tenant, userID)
}

// optionalID is "" for uuid.Nil, so a query can tell "any" from a value.
func optionalID(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

func (s roles) objectPerms(ctx context.Context, q string, args ...any) ([]store.ObjectPermission, error) {
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []store.ObjectPermission
	for rows.Next() {
		var p store.ObjectPermission
		if err := rows.Scan(&p.RoleID, &p.Permission, &p.ObjectID); err != nil {
			return nil, s.err(err)
		}
		out = append(out, p)
	}
	return out, s.err(rows.Err())
}
