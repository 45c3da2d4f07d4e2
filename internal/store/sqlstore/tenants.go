package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type tenants struct {
	s *DB
	q querier
}

func (t tenants) err(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return t.s.d.mapErr(err)
}

func (t tenants) EnsureDefault(ctx context.Context) (*store.Tenant, error) {
	ten, err := t.byQuery(ctx, `SELECT id, name, is_default, created_at FROM tenants WHERE is_default`)
	if !errors.Is(err, store.ErrNotFound) {
		return ten, err
	}
	ten = &store.Tenant{Name: "Default", Default: true}
	err = t.Create(ctx, ten)
	if errors.Is(err, store.ErrConflict) {
		// Another replica created it first.
		return t.byQuery(ctx, `SELECT id, name, is_default, created_at FROM tenants WHERE is_default`)
	}
	return ten, err
}

func (t tenants) Create(ctx context.Context, ten *store.Tenant) error {
	if strings.TrimSpace(ten.Name) == "" {
		return store.Invalid("name", "must not be empty")
	}
	for _, d := range ten.Domains {
		if msg := validDomain(d); msg != "" {
			return store.Invalid("domains", "%q %s", d, msg)
		}
	}
	if ten.ID == uuid.Nil {
		ten.ID = uuid.Must(uuid.NewV7())
	}
	ten.CreatedAt = t.s.nowTime()
	return t.s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO tenants (id, name, is_default, created_at) VALUES ($1, $2, $3, $4)`,
			ten.ID, ten.Name, ten.Default, micros(ten.CreatedAt))
		if err != nil {
			return t.err(err)
		}
		for i, d := range ten.Domains {
			ten.Domains[i] = strings.ToLower(d)
			if _, err := tx.ExecContext(ctx, `INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)`,
				ten.Domains[i], ten.ID); err != nil {
				return t.err(err)
			}
		}
		return nil
	})
}

// validDomain accepts a bare hostname: no scheme, port, path or spaces.
func validDomain(d string) string {
	if d == "" || len(d) > 253 || strings.ContainsAny(d, " /:@?#") {
		return "is not a hostname"
	}
	return ""
}

func (t tenants) Get(ctx context.Context, id uuid.UUID) (*store.Tenant, error) {
	return t.byQuery(ctx, `SELECT id, name, is_default, created_at FROM tenants WHERE id = $1`, id)
}

func (t tenants) ByDomain(ctx context.Context, host string) (*store.Tenant, error) {
	return t.byQuery(ctx, `SELECT t.id, t.name, t.is_default, t.created_at
		FROM tenants t JOIN tenant_domains d ON d.tenant_id = t.id WHERE d.domain = $1`,
		strings.ToLower(host))
}

func (t tenants) byQuery(ctx context.Context, q string, args ...any) (*store.Tenant, error) {
	var ten store.Tenant
	var created int64
	if err := t.q.QueryRowContext(ctx, q, args...).Scan(&ten.ID, &ten.Name, &ten.Default, &created); err != nil {
		return nil, t.err(err)
	}
	ten.CreatedAt = fromMicros(created)
	var err error
	ten.Domains, err = t.domains(ctx, ten.ID)
	return &ten, err
}

func (t tenants) domains(ctx context.Context, id uuid.UUID) ([]string, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT domain FROM tenant_domains WHERE tenant_id = $1 ORDER BY domain`, id)
	if err != nil {
		return nil, t.err(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, t.err(err)
		}
		out = append(out, d)
	}
	return out, t.err(rows.Err())
}

func (t tenants) List(ctx context.Context) ([]*store.Tenant, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT id, name, is_default, created_at FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, t.err(err)
	}
	var out []*store.Tenant
	byID := map[uuid.UUID]*store.Tenant{}
	for rows.Next() {
		var ten store.Tenant
		var created int64
		if err := rows.Scan(&ten.ID, &ten.Name, &ten.Default, &created); err != nil {
			rows.Close()
			return nil, t.err(err)
		}
		ten.CreatedAt = fromMicros(created)
		out = append(out, &ten)
		byID[ten.ID] = &ten
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, t.err(err)
	}
	// All domains in one query rather than one per tenant.
	rows, err = t.q.QueryContext(ctx, `SELECT tenant_id, domain FROM tenant_domains ORDER BY domain`)
	if err != nil {
		return nil, t.err(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var d string
		if err := rows.Scan(&id, &d); err != nil {
			return nil, t.err(err)
		}
		if ten := byID[id]; ten != nil {
			ten.Domains = append(ten.Domains, d)
		}
	}
	return out, t.err(rows.Err())
}

func (t tenants) AddDomain(ctx context.Context, id uuid.UUID, domain string) error {
	if msg := validDomain(domain); msg != "" {
		return store.Invalid("domain", "%q %s", domain, msg)
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)`,
		strings.ToLower(domain), id)
	return t.err(err)
}
