package sqlstore

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The optional store.TokenLister, store.SessionLister and store.RoleEditor.

var (
	_ store.TokenLister   = tokens{}
	_ store.SessionLister = sessions{}
	_ store.RoleEditor    = roles{}
)

// listFilter builds a WHERE clause with numbered placeholders after the
// tenant's $1.
type listFilter struct {
	where []string
	args  []any
}

func newListFilter(tenant uuid.UUID) *listFilter {
	return &listFilter{where: []string{"tenant_id = $1"}, args: []any{tenant}}
}

// add appends cond, in which each ? is the next of vals.
func (f *listFilter) add(cond string, vals ...any) {
	for _, v := range vals {
		f.args = append(f.args, v)
		cond = strings.Replace(cond, "?", "$"+itoa(len(f.args)), 1)
	}
	f.where = append(f.where, cond)
}

func (f *listFilter) search(ilike, s string, cols ...string) {
	if s == "" {
		return
	}
	p := "%" + escapeLike(strings.ToLower(s)) + "%"
	parts := make([]string, len(cols))
	vals := make([]any, len(cols))
	for i, c := range cols {
		parts[i], vals[i] = "lower("+c+") "+ilike+" ? ESCAPE '\\'", p
	}
	f.add("("+strings.Join(parts, " OR ")+")", vals...)
}

func (f *listFilter) sql() string { return strings.Join(f.where, " AND ") }

// listPage counts the matches and runs the page query; scan reads one row.
func listPage[T any](ctx context.Context, sc *scope, table, columns string, f *listFilter, order string, p store.Page,
	scan func(rowScanner) (T, error)) ([]T, int, error) {
	var total int
	if err := sc.q.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE `+f.sql(), f.args...).Scan(&total); err != nil {
		return nil, 0, sc.err(err)
	}
	p = p.Normalize()
	rows, err := sc.q.QueryContext(ctx, `SELECT `+columns+` FROM `+table+` WHERE `+f.sql()+` ORDER BY `+order+
		`, id LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), f.args...)
	if err != nil {
		return nil, 0, sc.err(err)
	}
	defer rows.Close()
	out := make([]T, 0, p.Size)
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, 0, sc.err(err)
		}
		out = append(out, x)
	}
	return out, total, sc.err(rows.Err())
}

var tokenOrderings = map[string]string{"identifier": "identifier", "expires": "expires", "created": "created_at"}

func (s tokens) List(ctx context.Context, q store.TokenQuery) ([]*store.Token, int, error) {
	order, err := orderBy(q.Ordering, "identifier", tokenOrderings)
	if err != nil {
		return nil, 0, err
	}
	f := newListFilter(s.tenant)
	if q.UserID != uuid.Nil {
		f.add("user_id = ?", q.UserID)
	}
	if q.Intent != "" {
		f.add("intent = ?", q.Intent)
	}
	f.search(s.s.d.ilike(), q.Search, "identifier", "description")
	return listPage(ctx, s.scope, "tokens", tokenColumns, f, order, q.Page, scanToken)
}

func (s sessions) List(ctx context.Context, q store.SessionQuery) ([]*store.Session, int, error) {
	f := newListFilter(s.tenant)
	f.add("user_id IS NOT NULL")
	if q.UserID != uuid.Nil {
		f.add("user_id = ?", q.UserID)
	}
	if !q.Now.IsZero() {
		f.add("expires > ?", store.Micros(q.Now))
	}
	f.search(s.s.d.ilike(), q.Search, "ip", "user_agent")
	return listPage(ctx, s.scope, "sessions", sessionColumns, f, "last_seen DESC", q.Page, scanSession)
}

func (s roles) Rename(ctx context.Context, id uuid.UUID, name string) error {
	r := &store.Role{Name: strings.TrimSpace(name)}
	if err := r.Validate(); err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `UPDATE roles SET name = $3 WHERE tenant_id = $1 AND id = $2`, s.tenant, id, r.Name)
	return s.exactlyOne(res, err)
}

func (s roles) Assignments(ctx context.Context) (map[uuid.UUID][]uuid.UUID, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT role_id, group_id FROM group_roles WHERE tenant_id = $1 ORDER BY role_id, group_id`,
		s.tenant)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	out := map[uuid.UUID][]uuid.UUID{}
	for rows.Next() {
		var role, group uuid.UUID
		if err := rows.Scan(&role, &group); err != nil {
			return nil, s.err(err)
		}
		out[role] = append(out[role], group)
	}
	return out, s.err(rows.Err())
}
