package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// identityKeysVersion is migration 14, the one written in Go: its keys are
// store.IdentityKey (NFKC and Unicode case folding), which neither
// engine's SQL can compute alike. It adds username_key and email_key,
// fills them, and puts the unique indexes on them; lower(username)'s index,
// which folded only ASCII on SQLite ("Älice" and "älice" were two users
// there, one on PostgreSQL), is kept for ordering but no longer unique.
//
// Rows that collide under the new keys (possible on SQLite for usernames,
// and on both for email addresses, which were never unique) keep working:
// the oldest account of each colliding set gets the key, the others keep
// a NULL key, which the unique index allows, and a warning names them so
// an admin can rename them. Such an account still logs in by its exact
// username; an address several accounts share stays ambiguous for login
// by email, as before. No new value may collide with a keyed one.
const identityKeysVersion = 14

func identityKeysMigration(log *slog.Logger) *goose.Migration {
	return goose.NewGoMigration(identityKeysVersion,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return identityKeysUp(ctx, tx, log) }},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			return execAll(ctx, tx, `DROP INDEX users_email_key`, `DROP INDEX users_username_key`,
				`DROP INDEX users_username`, `CREATE UNIQUE INDEX users_username ON users (tenant_id, lower(username))`,
				`ALTER TABLE users DROP COLUMN email_key`, `ALTER TABLE users DROP COLUMN username_key`)
		}})
}

func identityKeysUp(ctx context.Context, tx *sql.Tx, log *slog.Logger) error {
	if err := execAll(ctx, tx, `ALTER TABLE users ADD COLUMN username_key TEXT`,
		`ALTER TABLE users ADD COLUMN email_key TEXT`); err != nil {
		return err
	}
	if err := backfillIdentityKeys(ctx, tx, log); err != nil {
		return err
	}
	return execAll(ctx, tx,
		`CREATE UNIQUE INDEX users_username_key ON users (tenant_id, username_key)`,
		`CREATE UNIQUE INDEX users_email_key ON users (tenant_id, email_key)`,
		// lower(username) stays the list's order: its index, no longer unique.
		`DROP INDEX users_username`,
		`CREATE INDEX users_username ON users (tenant_id, lower(username))`)
}

// keyRow is one user as the backfill reads it.
type keyRow struct {
	tenant, id      uuid.UUID
	created         int64
	username, email string
}

// backfillIdentityKeys walks every user, oldest first within each tenant,
// in pages (a page is read whole before it is written: neither driver
// runs a statement while a result set is open on the connection).
func backfillIdentityKeys(ctx context.Context, tx *sql.Tx, log *slog.Logger) error {
	const page = 1000
	var (
		after    *keyRow
		tenant   uuid.UUID
		byName   map[string]uuid.UUID
		byEmail  map[string]uuid.UUID
		conflict int
	)
	for {
		rows, err := readKeyPage(ctx, tx, after, page)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if byName == nil || r.tenant != tenant {
				tenant, byName, byEmail = r.tenant, map[string]uuid.UUID{}, map[string]uuid.UUID{}
			}
			uk := claimKey(byName, store.IdentityKey(r.username), r.id)
			ek := claimKey(byEmail, store.EmailKey(r.email), r.id)
			if !uk.Valid {
				conflict++
				log.Warn("migration 14: this username equals an older account's once case and Unicode forms are "+
					"folded; the account keeps logging in with its exact spelling, but rename it",
					"tenant", r.tenant, "user", r.id, "older_user", byName[store.IdentityKey(r.username)])
			}
			if !ek.Valid && r.email != "" {
				log.Warn("migration 14: this email address is also an older account's; it stays usable but "+
					"ambiguous for login by email until one of them changes it",
					"tenant", r.tenant, "user", r.id, "older_user", byEmail[store.EmailKey(r.email)])
			}
			if _, err := tx.ExecContext(ctx, `UPDATE users SET username_key = $1, email_key = $2
				WHERE tenant_id = $3 AND id = $4`, uk, ek, r.tenant, r.id); err != nil {
				return err
			}
		}
		if len(rows) < page {
			if conflict > 0 {
				log.Warn("migration 14: usernames that collide once folded", "accounts", conflict)
			}
			return nil
		}
		after = &rows[len(rows)-1]
	}
}

// claimKey gives key to id unless an older row holds it already.
func claimKey(held map[string]uuid.UUID, key string, id uuid.UUID) sql.NullString {
	if key == "" {
		return sql.NullString{}
	}
	if _, taken := held[key]; taken {
		return sql.NullString{}
	}
	held[key] = id
	return sql.NullString{String: key, Valid: true}
}

func readKeyPage(ctx context.Context, tx *sql.Tx, after *keyRow, limit int) ([]keyRow, error) {
	q := `SELECT tenant_id, id, created_at, username, email FROM users`
	var args []any
	if after != nil {
		q += ` WHERE (tenant_id, created_at, id) > ($1, $2, $3)`
		args = []any{after.tenant, after.created, after.id}
	}
	rows, err := tx.QueryContext(ctx, q+` ORDER BY tenant_id, created_at, id LIMIT `+itoa(limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyRow
	for rows.Next() {
		var r keyRow
		if err := rows.Scan(&r.tenant, &r.id, &r.created, &r.username, &r.email); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func execAll(ctx context.Context, tx *sql.Tx, stmts ...string) error {
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
