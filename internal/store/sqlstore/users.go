package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type users struct{ *scope }

const userColumns = `id, username, name, email, email_verified, type, is_active, path, attributes,
	password_hash, password_change_date, last_login, created_at, updated_at, version`

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner) (*store.User, error) {
	var (
		u                             store.User
		attrs                         []byte
		pwChanged, lastLogin, cr, upd int64
	)
	err := r.Scan(&u.ID, &u.Username, &u.Name, &u.Email, &u.EmailVerified, &u.Type, &u.IsActive, &u.Path,
		&attrs, &u.PasswordHash, &pwChanged, &lastLogin, &cr, &upd, &u.Version)
	if err != nil {
		return nil, err
	}
	if err := decodeAttributes(attrs, &u.Attributes); err != nil {
		return nil, err
	}
	u.PasswordChangeDate, u.LastLogin = store.FromMicros(pwChanged), store.FromMicros(lastLogin)
	u.CreatedAt, u.UpdatedAt = store.FromMicros(cr), store.FromMicros(upd)
	return &u, nil
}

func decodeAttributes(b []byte, into *store.Attributes) error {
	*into = store.Attributes{}
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, into)
}

func encodeAttributes(a store.Attributes) string {
	if a == nil {
		return "{}"
	}
	b, _ := json.Marshal(a) // validated before every write
	return string(b)
}

// normalizeUser fills the defaults a new user gets.
func normalizeUser(u *store.User) {
	if u.Type == "" {
		u.Type = store.UserInternal
	}
	if u.Path == "" {
		u.Path = "users"
	}
	if u.Attributes == nil {
		u.Attributes = store.Attributes{}
	}
}

// Usernames and email addresses are unique per tenant by their
// store.IdentityKey, kept in username_key and email_key under unique
// indexes, so two concurrent writes of one address cannot both succeed.
// A key is written when its value's key changes; rows that already
// collided when the keys were introduced (migration 14) keep a NULL key
// and keep working, but no new value may collide with a keyed one.

// nullKey stores "" as NULL: rows without an address, and the colliding
// rows of migration 14, are exempt from the unique index.
func nullKey(k string) sql.NullString { return sql.NullString{String: k, Valid: k != ""} }

func (s users) Create(ctx context.Context, u *store.User) error {
	normalizeUser(u)
	if err := u.ValidateWrite(nil); err != nil {
		return err
	}
	if u.ID == uuid.Nil {
		u.ID = uuid.Must(uuid.NewV7())
	}
	now := s.s.nowTime()
	u.CreatedAt, u.UpdatedAt, u.Version = now, now, 1
	_, err := s.q.ExecContext(ctx, `INSERT INTO users (tenant_id, `+userColumns+`, username_key, email_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		s.tenant, u.ID, u.Username, u.Name, u.Email, u.EmailVerified, u.Type, u.IsActive, u.Path,
		encodeAttributes(u.Attributes), u.PasswordHash, store.Micros(u.PasswordChangeDate), store.Micros(u.LastLogin),
		store.Micros(u.CreatedAt), store.Micros(u.UpdatedAt), u.Version,
		nullKey(store.IdentityKey(u.Username)), nullKey(store.EmailKey(u.Email)))
	return s.err(err)
}

func (s users) one(ctx context.Context, where string, args ...any) (*store.User, error) {
	args = append([]any{s.tenant}, args...)
	u, err := scanUser(s.q.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND `+where, args...))
	if err != nil {
		return nil, s.err(err)
	}
	return u, nil
}

func (s users) Get(ctx context.Context, id uuid.UUID) (*store.User, error) {
	return s.one(ctx, `id = $2`, id)
}

// usernameIs matches a username by its key or, for the rows migration 14
// left without one, by its exact spelling; key and exact are
// placeholders. Only those few rows have a NULL key, so the second branch
// is a short range of the key's index.
func usernameIs(key, exact string) string {
	return "(username_key = " + key + " OR (username_key IS NULL AND username = " + exact + "))"
}

// GetByUsername prefers the exact spelling: of two accounts that collided
// before usernames were keyed, each still finds its own.
func (s users) GetByUsername(ctx context.Context, username string) (*store.User, error) {
	return s.one(ctx, usernameIs("$2", "$3")+` ORDER BY CASE WHEN username = $3 THEN 0 ELSE 1 END LIMIT 1`,
		store.IdentityKey(username), username)
}

// GetByEmail also reads the addresses migration 14 left without a key, so
// an address that several accounts held before stays ambiguous. Every user
// without an address has a NULL key too, so those rows are found through
// users_email (a UNION: SQLite's OR cannot use an expression index), and
// coalesce keeps the planner off the key's long NULL range.
func (s users) GetByEmail(ctx context.Context, email string) (*store.User, error) {
	if email == "" {
		return nil, store.ErrNotFound
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND email_key = $2
		UNION ALL SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND lower(email) = lower($3)
		AND coalesce(email_key, '') = '' AND email <> '' LIMIT 2`, s.tenant, store.EmailKey(email), email)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var found []*store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, s.err(err)
		}
		found = append(found, u)
	}
	if err := rows.Err(); err != nil {
		return nil, s.err(err)
	}
	switch len(found) {
	case 0:
		return nil, store.ErrNotFound
	case 1:
		return found[0], nil
	}
	return nil, &store.ConflictError{Field: "email"}
}

// fewUsers is how many matches a page query sorts itself rather than
// reading them in the order's index: at most a few milliseconds of sorting.
const fewUsers = 1000

var userOrderings = map[string]string{
	"username": "lower(username)", "name": "lower(name)", "email": "lower(email)",
	"last_login": "last_login", "created": "created_at",
}

func (s users) List(ctx context.Context, q store.UserQuery) ([]*store.User, int, error) {
	where := []string{"tenant_id = $1"}
	args := []any{s.tenant}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	fts, err := s.searchIndexed(ctx, q.Search)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case fts != "":
		where = append(where, "id IN (SELECT i.uid FROM users_search JOIN users_search_ids i ON i.rowid = users_search.rowid"+
			" WHERE users_search MATCH "+arg(fts)+")")
	case q.Search != "":
		// LIKE, not ILIKE: both sides are lower-cased already, and on
		// PostgreSQL ILIKE costs three times as much and the trigram
		// indexes (migration 00010) serve either.
		p := arg("%" + escapeLike(strings.ToLower(q.Search)) + "%")
		where = append(where, "(lower(username) LIKE "+p+" ESCAPE '\\' OR lower(name) LIKE "+p+
			" ESCAPE '\\' OR lower(email) LIKE "+p+" ESCAPE '\\')")
	}
	if q.Type != "" {
		where = append(where, "type = "+arg(q.Type))
	}
	if q.IsActive != nil {
		where = append(where, "is_active = "+arg(*q.IsActive))
	}
	if q.Username != "" {
		// Exact, yet answered from the username_key index.
		p := arg(q.Username)
		where = append(where, usernameIs(arg(store.IdentityKey(q.Username)), p)+" AND username = "+p)
	}
	if q.Email != "" {
		p := arg(q.Email)
		where = append(where, "lower(email) = lower("+p+") AND email = "+p)
	}
	if q.GroupID != uuid.Nil {
		where = append(where, "id IN (SELECT user_id FROM group_members WHERE tenant_id = $1 AND group_id = "+arg(q.GroupID)+")")
	}
	cond := strings.Join(where, " AND ")
	var total int
	count := `SELECT count(*) FROM users WHERE ` + cond
	if q.Search != "" {
		count = `SELECT count(*) FROM (SELECT 1 FROM users WHERE ` + cond + ` LIMIT ` + itoa(store.MaxSearchCount) + `) capped`
	}
	if err := s.q.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	order, err := orderBy(q.Ordering, "username", userOrderings)
	if err != nil {
		return nil, 0, err
	}
	p := q.Page.Normalize()
	page := `SELECT ` + userColumns + ` FROM users WHERE ` + cond
	if total < fewUsers {
		// Few matches: find them, then sort them. Walking the ordering's
		// index instead, as PostgreSQL's generic plan of this statement
		// does, reads the whole table to find a handful.
		page = `WITH matched AS MATERIALIZED (` + page + `) SELECT ` + userColumns + ` FROM matched`
	}
	rows, err := s.q.QueryContext(ctx, page+` ORDER BY `+order+`, id LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), args...)
	if err != nil {
		return nil, 0, s.err(err)
	}
	defer rows.Close()
	out := make([]*store.User, 0, p.Size)
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, s.err(err)
		}
		out = append(out, u)
	}
	return out, total, s.err(rows.Err())
}

// searchIndexed returns the FTS5 query for search when SQLite's trigram
// index (migration 00010) should answer it: three characters or more, and
// fewer matches (in any tenant) than MaxSearchCount. A term that matches
// most users is cheaper to scan for, the scan stopping at the capped
// count; one that matches few is far cheaper to look up. "" means scan.
func (s users) searchIndexed(ctx context.Context, search string) (string, error) {
	if s.s.d.name() != "sqlite" || utf8.RuneCountInString(search) < 3 {
		return "", nil
	}
	phrase := `"` + strings.ReplaceAll(search, `"`, `""`) + `"`
	var n int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM users_search WHERE users_search MATCH $1 LIMIT `+
		itoa(store.MaxSearchCount)+`) probe`, phrase).Scan(&n); err != nil {
		return "", s.err(err)
	}
	if n >= store.MaxSearchCount {
		return "", nil
	}
	return phrase, nil
}

func (s users) Count(ctx context.Context) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE tenant_id = $1`, s.tenant).Scan(&n)
	return n, s.err(err)
}

func (s users) Update(ctx context.Context, id uuid.UUID, fn func(*store.User) error) (*store.User, error) {
	return casUpdate(ctx, s.scope, userRows, id, -1, fn)
}

func (s users) UpdateIfVersion(ctx context.Context, id uuid.UUID, version int64, fn func(*store.User) error) (*store.User, error) {
	return casUpdate(ctx, s.scope, userRows, id, version, fn)
}

var userRows = versioned[store.User]{
	get:   func(ctx context.Context, sc *scope, id uuid.UUID) (*store.User, error) { return users{sc}.Get(ctx, id) },
	owned: func(u *store.User) owned { return owned{&u.ID, &u.CreatedAt, &u.UpdatedAt, &u.Version} },
	prepare: func(_ context.Context, _ *scope, u, old *store.User) error {
		if u.Attributes == nil {
			u.Attributes = store.Attributes{}
		}
		return u.ValidateWrite(old)
	},
	write: func(ctx context.Context, sc *scope, u, old *store.User) (sql.Result, error) {
		args := []any{sc.tenant, u.ID, u.Username, u.Name, u.Email, u.EmailVerified, u.Type, u.IsActive, u.Path,
			encodeAttributes(u.Attributes), u.PasswordHash, store.Micros(u.PasswordChangeDate),
			store.Micros(u.UpdatedAt), u.Version, old.Version}
		keys := ""
		if k := store.IdentityKey(u.Username); k != store.IdentityKey(old.Username) {
			args = append(args, nullKey(k))
			keys += ", username_key = $" + itoa(len(args))
		}
		if k := store.EmailKey(u.Email); k != store.EmailKey(old.Email) {
			args = append(args, nullKey(k))
			keys += ", email_key = $" + itoa(len(args))
		}
		// last_login is RecordLogin's alone: it does not bump the version,
		// so writing it here could put back a stale value.
		return sc.q.ExecContext(ctx, `UPDATE users SET username = $3, name = $4, email = $5,
			email_verified = $6, type = $7, is_active = $8, path = $9, attributes = $10, password_hash = $11,
			password_change_date = $12, updated_at = $13, version = $14`+keys+`
			WHERE tenant_id = $1 AND id = $2 AND version = $15`, args...)
	},
}

func (s users) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM users WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
	return s.exactlyOne(res, err)
}

func (s users) SetPassword(ctx context.Context, id uuid.UUID, hash string, at time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE users SET password_hash = $3, password_change_date = $4,
		updated_at = $5, version = version + 1 WHERE tenant_id = $1 AND id = $2`,
		s.tenant, id, hash, store.Micros(at), store.Micros(s.s.nowTime()))
	return s.exactlyOne(res, err)
}

// RecordLogin does not bump the version: a login is not an edit, and must
// not make an admin's open edit form conflict.
func (s users) RecordLogin(ctx context.Context, id uuid.UUID, at time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE users SET last_login = $3 WHERE tenant_id = $1 AND id = $2`,
		s.tenant, id, store.Micros(at))
	return s.exactlyOne(res, err)
}
