package sqlstore

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// dialect holds the few things SQLite and PostgreSQL do differently. Queries
// themselves are shared: both accept $N placeholders and the SQL we write.
type dialect interface {
	name() string
	// types fills the {{uuid}}, {{json}} and {{bytes}} column types in migrations.
	types() map[string]string
	// mapErr turns constraint violations into the store's error contract.
	mapErr(err error) error
	// ilike is the case-insensitive LIKE operator.
	ilike() string
}

type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }
func (sqliteDialect) types() map[string]string {
	return map[string]string{"uuid": "TEXT", "json": "TEXT", "bytes": "BLOB"}
}

// SQLite's LIKE is case-insensitive for ASCII already.
func (sqliteDialect) ilike() string { return "LIKE" }

func (sqliteDialect) mapErr(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case 2067, 1555: // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
		return &store.ConflictError{Field: conflictField(se.Error())}
	case 787: // SQLITE_CONSTRAINT_FOREIGNKEY: a referenced row is missing (or in another tenant)
		return store.ErrNotFound
	}
	return err
}

type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }
func (postgresDialect) types() map[string]string {
	return map[string]string{"uuid": "UUID", "json": "JSONB", "bytes": "BYTEA"}
}
func (postgresDialect) ilike() string { return "ILIKE" }

func (postgresDialect) mapErr(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		return &store.ConflictError{Field: conflictField(pe.ConstraintName)}
	case "23503": // foreign_key_violation
		return store.ErrNotFound
	case "40001": // serialization_failure
		return store.ErrConflict
	}
	return err
}

// uniqueFields names the field of constraints whose names say otherwise.
var uniqueFields = []struct{ match, field string }{
	{"username_key", "username"},
	{"email_key", "email"},
	{"tenant_domains", "domain"},
	{"tokens_key_hash", "key"},
	{"tokens.key_hash", "key"},
	{"group_members", "member"},
	{"group_roles", "role"},
	{"role_permissions", "permission"},
	{"user_consents", "consent"},
}

// conflictField finds the field a unique violation is about. Our unique
// indexes are named <table>_<field>; PostgreSQL reports that name, SQLite
// reports "index '<name>'" for expression indexes and "table.column, ..."
// for plain ones.
func conflictField(msg string) string {
	for _, u := range uniqueFields {
		if strings.Contains(msg, u.match) {
			return u.field
		}
	}
	if i := strings.Index(msg, "index '"); i >= 0 {
		msg = msg[i+len("index '"):]
		if j := strings.IndexByte(msg, '\''); j >= 0 {
			msg = msg[:j]
		}
	} else if i := strings.LastIndex(msg, "."); i >= 0 && strings.Contains(msg, "constraint failed") {
		col := msg[i+1:]
		if j := strings.IndexAny(col, " ("); j >= 0 {
			col = col[:j]
		}
		return col
	}
	if _, field, ok := strings.Cut(msg, "_"); ok && !strings.ContainsAny(field, " :") {
		return field
	}
	return ""
}
