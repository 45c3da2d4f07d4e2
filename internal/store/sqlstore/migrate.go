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

// provider is the one migration sequence on this database: the SQL files
// and the steps SQL cannot express alike on both engines
// (migrate_identity.go). With locked, PostgreSQL's migrations hold a
// session advisory lock, so replicas starting at once migrate one after
// another.
func (s *DB) provider(locked bool) (*goose.Provider, error) {
	fsys, err := migrations(s.d)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(identityKeysMigration(s.log))}
	gd := goose.DialectSQLite3
	if s.d.name() == "postgres" {
		gd = goose.DialectPostgres
		if locked {
			locker, err := lock.NewPostgresSessionLocker()
			if err != nil {
				return nil, fmt.Errorf("sqlstore: migration lock: %w", err)
			}
			opts = append(opts, goose.WithSessionLocker(locker))
		}
	}
	p, err := goose.NewProvider(gd, s.db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration.
func (s *DB) Migrate(ctx context.Context) error {
	return s.migrate(ctx, func(p *goose.Provider) ([]*goose.MigrationResult, error) { return p.Up(ctx) })
}

// migrateTo applies the pending migrations up to version (tests of a
// migration start from the schema before it).
func (s *DB) migrateTo(ctx context.Context, version int64) error {
	return s.migrate(ctx, func(p *goose.Provider) ([]*goose.MigrationResult, error) { return p.UpTo(ctx, version) })
}

func (s *DB) migrate(ctx context.Context, up func(*goose.Provider) ([]*goose.MigrationResult, error)) error {
	p, err := s.provider(true)
	if err != nil {
		return err
	}
	results, err := up(p)
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
	p, err := s.provider(false)
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
