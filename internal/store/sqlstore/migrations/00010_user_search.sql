-- User search (core/users/?search=) at 100,000 users. A substring search
-- (username, name or email contains the text) cannot use a B-tree index,
-- so each engine gets its own substring index:
--
-- * PostgreSQL: trigram GIN indexes (pg_trgm) on the lower-cased columns,
--   which serve "lower(col) LIKE '%text%'". pg_trgm is a trusted extension
--   (a database owner may create it); where it cannot be created the
--   migration warns and search scans the table as before. It goes into the
--   public schema when there is one, so that a schema dropped later (a
--   test's) does not take it, and the indexes, along.
-- * SQLite: an FTS5 table with the trigram tokenizer, kept by triggers. Its
--   rows are keyed by users_search_ids, not by the users table's rowids,
--   which VACUUM may renumber (users has no INTEGER PRIMARY KEY); keyed by
--   the user id itself, a delete would scan the whole search table.
--
-- Both: indexes for the list's other orderings, so a page ordered by last
-- login, name or creation reads 20 rows instead of sorting them all.

-- +goose Up
CREATE INDEX users_last_login ON users (tenant_id, last_login);
CREATE INDEX users_name ON users (tenant_id, lower(name));
CREATE INDEX users_created ON users (tenant_id, created_at);

{{postgres}}-- +goose StatementBegin
{{postgres}}DO $$
{{postgres}}DECLARE ns text;
{{postgres}}BEGIN
{{postgres}}    SELECT n.nspname INTO ns FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
{{postgres}}    IF ns IS NULL THEN
{{postgres}}        BEGIN
{{postgres}}            IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
{{postgres}}                CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
{{postgres}}            ELSE
{{postgres}}                CREATE EXTENSION IF NOT EXISTS pg_trgm;
{{postgres}}            END IF;
{{postgres}}        EXCEPTION WHEN OTHERS THEN
{{postgres}}            -- Another migration may have created it meanwhile.
{{postgres}}            NULL;
{{postgres}}        END;
{{postgres}}        SELECT n.nspname INTO ns FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
{{postgres}}    END IF;
{{postgres}}    IF ns IS NULL THEN
{{postgres}}        RAISE WARNING 'pg_trgm cannot be created here; user search will scan the users table';
{{postgres}}        RETURN;
{{postgres}}    END IF;
{{postgres}}    EXECUTE format('CREATE INDEX users_username_trgm ON users USING gin (lower(username) %I.gin_trgm_ops)', ns);
{{postgres}}    EXECUTE format('CREATE INDEX users_name_trgm ON users USING gin (lower(name) %I.gin_trgm_ops)', ns);
{{postgres}}    EXECUTE format('CREATE INDEX users_email_trgm ON users USING gin (lower(email) %I.gin_trgm_ops)', ns);
{{postgres}}END $$;
{{postgres}}-- +goose StatementEnd

{{sqlite}}CREATE TABLE users_search_ids (rowid INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE);
{{sqlite}}CREATE VIRTUAL TABLE users_search USING fts5(username, name, email, tokenize = 'trigram');
{{sqlite}}INSERT INTO users_search_ids (uid) SELECT id FROM users;
{{sqlite}}INSERT INTO users_search (rowid, username, name, email) SELECT i.rowid, u.username, u.name, u.email FROM users u JOIN users_search_ids i ON i.uid = u.id;
{{sqlite}}-- +goose StatementBegin
{{sqlite}}CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
{{sqlite}}    INSERT INTO users_search_ids (uid) VALUES (new.id);
{{sqlite}}    INSERT INTO users_search (rowid, username, name, email)
{{sqlite}}        VALUES ((SELECT rowid FROM users_search_ids WHERE uid = new.id), new.username, new.name, new.email);
{{sqlite}}END;
{{sqlite}}-- +goose StatementEnd
{{sqlite}}-- +goose StatementBegin
{{sqlite}}CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
{{sqlite}}    DELETE FROM users_search WHERE rowid = (SELECT rowid FROM users_search_ids WHERE uid = old.id);
{{sqlite}}    DELETE FROM users_search_ids WHERE uid = old.id;
{{sqlite}}END;
{{sqlite}}-- +goose StatementEnd
{{sqlite}}-- +goose StatementBegin
{{sqlite}}CREATE TRIGGER users_search_update AFTER UPDATE OF username, name, email ON users
{{sqlite}}WHEN old.username IS NOT new.username OR old.name IS NOT new.name OR old.email IS NOT new.email BEGIN
{{sqlite}}    UPDATE users_search SET username = new.username, name = new.name, email = new.email
{{sqlite}}        WHERE rowid = (SELECT rowid FROM users_search_ids WHERE uid = new.id);
{{sqlite}}END;
{{sqlite}}-- +goose StatementEnd

-- +goose Down
{{sqlite}}DROP TRIGGER users_search_update;
{{sqlite}}DROP TRIGGER users_search_delete;
{{sqlite}}DROP TRIGGER users_search_insert;
{{sqlite}}DROP TABLE users_search;
{{sqlite}}DROP TABLE users_search_ids;
{{postgres}}DROP INDEX IF EXISTS users_email_trgm;
{{postgres}}DROP INDEX IF EXISTS users_name_trgm;
{{postgres}}DROP INDEX IF EXISTS users_username_trgm;
DROP INDEX users_created;
DROP INDEX users_name;
DROP INDEX users_last_login;
