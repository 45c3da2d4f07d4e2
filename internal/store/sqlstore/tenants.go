package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type tenants struct {
	s *DB
	q querier
}

const tenantColumns = `id, name, is_default, created_at, event_retention_seconds`

func (t tenants) err(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return t.s.d.mapErr(err)
}

func (t tenants) EnsureDefault(ctx context.Context) (*store.Tenant, error) {
	ten, err := t.byQuery(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE is_default`)
	if !errors.Is(err, store.ErrNotFound) {
		return ten, err
	}
	ten = &store.Tenant{Name: "Default", Default: true}
	err = t.Create(ctx, ten)
	if errors.Is(err, store.ErrConflict) {
		// Another replica created it first.
		return t.byQuery(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE is_default`)
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
	if ten.EventRetention == 0 {
		ten.EventRetention = store.DefaultEventRetention
	}
	if err := validRetention(ten.EventRetention); err != nil {
		return err
	}
	if ten.ID == uuid.Nil {
		ten.ID = uuid.Must(uuid.NewV7())
	}
	ten.CreatedAt = t.s.nowTime()
	return t.s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO tenants (id, name, is_default, created_at, event_retention_seconds) VALUES ($1, $2, $3, $4, $5)`,
			ten.ID, ten.Name, ten.Default, store.Micros(ten.CreatedAt), int64(ten.EventRetention/time.Second))
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
	return t.byQuery(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id)
}

func (t tenants) ByDomain(ctx context.Context, host string) (*store.Tenant, error) {
	return t.byQuery(ctx, `SELECT `+tenantColumns+` FROM tenants
		WHERE id = (SELECT tenant_id FROM tenant_domains WHERE domain = $1)`,
		strings.ToLower(host))
}

func (t tenants) byQuery(ctx context.Context, q string, args ...any) (*store.Tenant, error) {
	ten, err := scanTenant(t.q.QueryRowContext(ctx, q, args...))
	if err != nil {
		return nil, t.err(err)
	}
	ten.Domains, err = t.domains(ctx, ten.ID)
	return ten, err
}

func scanTenant(r rowScanner) (*store.Tenant, error) {
	var ten store.Tenant
	var created, retention int64
	if err := r.Scan(&ten.ID, &ten.Name, &ten.Default, &created, &retention); err != nil {
		return nil, err
	}
	ten.CreatedAt, ten.EventRetention = store.FromMicros(created), time.Duration(retention)*time.Second
	return &ten, nil
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
	rows, err := t.q.QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, t.err(err)
	}
	var out []*store.Tenant
	byID := map[uuid.UUID]*store.Tenant{}
	for rows.Next() {
		ten, err := scanTenant(rows)
		if err != nil {
			rows.Close()
			return nil, t.err(err)
		}
		out = append(out, ten)
		byID[ten.ID] = ten
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

// maxEventRetention is well inside time.Duration, whose range (292 years)
// bounds what callers can ask for anyway.
const maxEventRetention = 100 * 365 * 24 * time.Hour

// validRetention accepts whole seconds, as the column stores them.
func validRetention(d time.Duration) error {
	if d < time.Second || d > maxEventRetention || d%time.Second != 0 {
		return store.Invalid("event_retention", "must be whole seconds between 1 second and 100 years")
	}
	return nil
}

func (t tenants) SetEventRetention(ctx context.Context, id uuid.UUID, d time.Duration) error {
	if err := validRetention(d); err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, `UPDATE tenants SET event_retention_seconds = $2 WHERE id = $1`, id, int64(d/time.Second))
	if err != nil {
		return t.err(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.err(err)
	} else if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
