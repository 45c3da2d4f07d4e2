package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type keyPairs struct{ *scope }

func (sc *scope) CertificateKeyPairs() store.CertificateKeyPairs { return keyPairs{sc} }

const keyPairColumns = `id, name, certificate, key_enc, key_type, kid, set_id, active_from, retired_at, managed,
	created_at, updated_at, version`

func scanKeyPair(r rowScanner) (*store.CertificateKeyPair, error) {
	var k store.CertificateKeyPair
	var managed *string
	var active, retired, cr, upd int64
	if err := r.Scan(&k.ID, &k.Name, &k.CertificatePEM, &k.KeyEnc, &k.KeyType, &k.KID, &k.SetID, &active, &retired,
		&managed, &cr, &upd, &k.Version); err != nil {
		return nil, err
	}
	if managed != nil {
		k.Managed = *managed
	}
	k.ActiveFrom, k.RetiredAt = store.FromMicros(active), store.FromMicros(retired)
	k.CreatedAt, k.UpdatedAt = store.FromMicros(cr), store.FromMicros(upd)
	return &k, nil
}

func (s keyPairs) Create(ctx context.Context, k *store.CertificateKeyPair) error {
	if k.ID == uuid.Nil {
		k.ID = uuid.Must(uuid.NewV7())
	}
	if k.SetID == uuid.Nil {
		k.SetID = k.ID
	}
	k.Name = strings.TrimSpace(k.Name)
	if err := k.Validate(); err != nil {
		return err
	}
	now := s.s.nowTime()
	k.CreatedAt, k.UpdatedAt, k.Version = now, now, 1
	_, err := s.q.ExecContext(ctx, `INSERT INTO certificate_key_pairs (tenant_id, `+keyPairColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		s.tenant, k.ID, k.Name, k.CertificatePEM, k.KeyEnc, k.KeyType, k.KID, k.SetID, store.Micros(k.ActiveFrom),
		store.Micros(k.RetiredAt), nullable(k.Managed), store.Micros(k.CreatedAt), store.Micros(k.UpdatedAt), k.Version)
	return s.err(err)
}

func (s keyPairs) one(ctx context.Context, where string, arg any) (*store.CertificateKeyPair, error) {
	k, err := scanKeyPair(s.q.QueryRowContext(ctx, `SELECT `+keyPairColumns+` FROM certificate_key_pairs
		WHERE tenant_id = $1 AND `+where, s.tenant, arg))
	if err != nil {
		return nil, s.err(err)
	}
	return k, nil
}

func (s keyPairs) Get(ctx context.Context, id uuid.UUID) (*store.CertificateKeyPair, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s keyPairs) GetByName(ctx context.Context, name string) (*store.CertificateKeyPair, error) {
	return s.one(ctx, `name = $2`, name)
}

func (s keyPairs) GetByManaged(ctx context.Context, managed string) (*store.CertificateKeyPair, error) {
	if managed == "" {
		return nil, store.ErrNotFound
	}
	return s.one(ctx, `managed = $2`, managed)
}

func (s keyPairs) List(ctx context.Context, page store.Page) ([]*store.CertificateKeyPair, int, error) {
	var total int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM certificate_key_pairs WHERE tenant_id = $1`,
		s.tenant).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	p := page.Normalize()
	out, err := s.many(ctx, `SELECT `+keyPairColumns+` FROM certificate_key_pairs WHERE tenant_id = $1
		ORDER BY name, id LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), s.tenant)
	return out, total, err
}

func (s keyPairs) ListSet(ctx context.Context, id uuid.UUID) ([]*store.CertificateKeyPair, error) {
	// A rotation set has at most a handful of members (the current key, its
	// successor, the retired ones still published); 100 bounds a set that
	// an admin never cleaned up.
	return s.many(ctx, `SELECT `+keyPairColumns+` FROM certificate_key_pairs WHERE tenant_id = $1
		AND (set_id = $2 OR set_id = (SELECT set_id FROM certificate_key_pairs WHERE tenant_id = $1 AND id = $2))
		ORDER BY active_from DESC, created_at DESC, id DESC LIMIT 100`, s.tenant, id)
}

func (s keyPairs) many(ctx context.Context, q string, args ...any) ([]*store.CertificateKeyPair, error) {
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []*store.CertificateKeyPair
	for rows.Next() {
		k, err := scanKeyPair(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, k)
	}
	return out, s.err(rows.Err())
}

func (s keyPairs) Update(ctx context.Context, id uuid.UUID, fn func(*store.CertificateKeyPair) error) (*store.CertificateKeyPair, error) {
	return casUpdate(ctx, s.scope, keyPairRows, id, -1, fn)
}

var keyPairRows = versioned[store.CertificateKeyPair]{
	get: func(ctx context.Context, sc *scope, id uuid.UUID) (*store.CertificateKeyPair, error) {
		return keyPairs{sc}.Get(ctx, id)
	},
	owned: func(k *store.CertificateKeyPair) owned { return owned{&k.ID, &k.CreatedAt, &k.UpdatedAt, &k.Version} },
	prepare: func(_ context.Context, _ *scope, k, old *store.CertificateKeyPair) error {
		k.SetID = old.SetID // a key never changes rotation set
		k.Name = strings.TrimSpace(k.Name)
		return k.Validate()
	},
	write: func(ctx context.Context, sc *scope, k, old *store.CertificateKeyPair) (sql.Result, error) {
		return sc.q.ExecContext(ctx, `UPDATE certificate_key_pairs SET name = $3, certificate = $4, key_enc = $5,
			key_type = $6, kid = $7, active_from = $8, retired_at = $9, managed = $10, updated_at = $11, version = $12
			WHERE tenant_id = $1 AND id = $2 AND version = $13`,
			sc.tenant, k.ID, k.Name, k.CertificatePEM, k.KeyEnc, k.KeyType, k.KID, store.Micros(k.ActiveFrom), store.Micros(k.RetiredAt),
			nullable(k.Managed), store.Micros(k.UpdatedAt), k.Version, old.Version)
	},
}

func (s keyPairs) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM certificate_key_pairs WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
	return s.exactlyOne(res, err)
}
