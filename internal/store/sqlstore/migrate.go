package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations renders the one migration sequence for a dialect: the files are
// shared, only the {{type}} markers differ, and lines marked {{sqlite}} or
// {{postgres}} (an index one engine has and the other has not) are kept
// for that engine only. One timeline for both engines means no step can be
// forgotten on one of them.
func migrations(d dialect) (fs.FS, error) {
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	pairs := []string{}
	for k, v := range d.types() {
		pairs = append(pairs, "{{"+k+"}}", v)
	}
	r := strings.NewReplacer(pairs...)
	for _, e := range entries {
		b, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		text := r.Replace(onlyFor(d.name(), string(b)))
		if i := strings.Index(text, "{{"); i >= 0 {
			return nil, fmt.Errorf("sqlstore: %s: unknown type marker near %q", e.Name(), text[i:min(len(text), i+20)])
		}
		out[e.Name()] = &fstest.MapFile{Data: []byte(text), Mode: 0o444}
	}
	return out, nil
}

// onlyFor keeps the lines marked for engine, without their mark, and drops
// those marked for the other. Dropped, not commented out: goose reads its
// annotations (StatementBegin) even inside comments.
func onlyFor(engine, sql string) string {
	lines := strings.Split(sql, "\n")
	out := lines[:0]
	for _, line := range lines {
		if rest, ok := strings.CutPrefix(line, "{{"+engine+"}}"); ok {
			out = append(out, rest)
		} else if !strings.HasPrefix(line, "{{sqlite}}") && !strings.HasPrefix(line, "{{postgres}}") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// Migrate applies every pending migration. On PostgreSQL it holds a session
// advisory lock, so replicas starting at once migrate one after another.
func (s *DB) Migrate(ctx context.Context) error {
	fsys, err := migrations(s.d)
	if err != nil {
		return err
	}
	var opts []goose.ProviderOption
	gd := goose.DialectSQLite3
	if s.d.name() == "postgres" {
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("sqlstore: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, s.db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	for _, r := range results {
		s.log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// MigrationStatus reports the applied and latest versions, for `gatehouse migrate --status`.
func (s *DB) MigrationStatus(ctx context.Context) (current, latest int64, err error) {
	fsys, err := migrations(s.d)
	if err != nil {
		return 0, 0, err
	}
	gd := goose.DialectSQLite3
	if s.d.name() == "postgres" {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, s.db, fsys)
	if err != nil {
		return 0, 0, err
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, err
	}
	srcs := p.ListSources()
	if len(srcs) > 0 {
		latest = srcs[len(srcs)-1].Version
	}
	return current, latest, nil
}
