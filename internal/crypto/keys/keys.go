// Package keys manages signing keys and certificates (Authentik's
// CertificateKeyPair): it generates, imports and rotates them, keeps their
// private keys sealed at rest, signs tokens with them and publishes their
// public halves as JWKS.
//
// A key belongs to a rotation set. Providers name one key of a set; the set
// signs with its newest member whose active_from has passed, and publishes
// every member whose retired_at has not passed. Rotate adds a member that
// may be published before it signs (so relying parties that cache JWKS see
// it first) and retires the old members after a grace period that outlives
// the tokens they signed.
//
// Decrypted keys, built signers and JWKS documents are cached per tenant
// for a few seconds, so the token endpoint does not open a sealed key or
// query the store for every token. An edit or rotation is announced on the
// invalidation bus (Manager.Bus) in its transaction, so every replica drops
// its sets at once; cacheTTL remains the bound when an announcement is lost.
//
// Dependencies, and why: github.com/go-jose/go-jose/v4 (see internal/crypto/jwt
// for the reasons) builds the JWS signers and JWK documents; the keys
// themselves come from the standard library.
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto/jwt"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/invalidate"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Managed names the key Gatehouse creates in every tenant and gives new
// providers, Authentik's "authentik Self-signed Certificate".
const (
	Managed     = "goauthentik.io/crypto/jwt-managed"
	DefaultName = "Gatehouse Self-signed Certificate"
)

// cacheTTL bounds how long an edit to a key takes to reach a replica that
// missed its announcement.
const cacheTTL = 5 * time.Second

// DefaultValidity of generated certificates, Authentik's (one year);
// certificate expiry does not stop a key from signing JWTs.
const DefaultValidity = 365 * 24 * time.Hour

// ErrNoKey means a key pair has no private key, or no member of its set is
// active yet.
var ErrNoKey = errors.New("keys: no private key can sign for this key pair")

// Manager is safe for concurrent use.
type Manager struct {
	// Bus, when set, carries Changed to every replica: subscribe each
	// replica's Invalidate to invalidate.Keys on it. Without it, Changed
	// reaches this manager only.
	Bus *invalidate.Bus

	db  store.Store
	box *secretbox.Box
	now func() time.Time

	mu      sync.Mutex
	signers map[uuid.UUID]*Signer // by key pair ID; the signer checks the version
	sets    map[setKey]setEntry
}

type setKey struct{ tenant, id uuid.UUID }

type setEntry struct {
	members []*store.CertificateKeyPair
	jwks    []byte
	loaded  time.Time
}

// NewManager returns a manager over db, opening keys with box.
func NewManager(db store.Store, box *secretbox.Box, now func() time.Time) *Manager {
	return &Manager{db: db, box: box, now: now, signers: map[uuid.UUID]*Signer{}, sets: map[setKey]setEntry{}}
}

// AAD binds a sealed private key to its row.
func AAD(tenant, id uuid.UUID) secretbox.AAD {
	return secretbox.AAD{Tenant: tenant.String(), Table: "certificate_key_pairs", Column: "key_enc", Row: id.String()}
}

// EnsureDefault returns the tenant's managed default key, generating an
// RSA key on first start.
func (m *Manager) EnsureDefault(ctx context.Context, sc store.Scope) (*store.CertificateKeyPair, error) {
	k, err := sc.CertificateKeyPairs().GetByManaged(ctx, Managed)
	if !errors.Is(err, store.ErrNotFound) {
		return k, err
	}
	k, err = m.Generate(ctx, sc, Generate{Name: DefaultName, Type: store.KeyTypeRSA, Managed: Managed})
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		// Another replica generated it first.
		return sc.CertificateKeyPairs().GetByManaged(ctx, Managed)
	}
	return k, err
}

// Generate describes a key to generate.
type Generate struct {
	Name     string
	Type     string // rsa (2048 bits), ec (P-256) or ed25519
	Validity time.Duration
	Managed  string
	// SetID joins an existing rotation set; ActiveFrom delays signing.
	SetID      uuid.UUID
	ActiveFrom time.Time
}

// Generate creates a key pair with a self-signed certificate.
func (m *Manager) Generate(ctx context.Context, sc store.Scope, g Generate) (*store.CertificateKeyPair, error) {
	var priv crypto.Signer
	var err error
	switch g.Type {
	case store.KeyTypeRSA:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case store.KeyTypeEC:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case store.KeyTypeEd25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, store.Invalid("key_type", "must be one of rsa, ec, ed25519")
	}
	if err != nil {
		return nil, err
	}
	if g.Validity <= 0 {
		g.Validity = DefaultValidity
	}
	now := m.now()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: g.Name, Organization: []string{"Gatehouse"}},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(g.Validity), KeyUsage: x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, err
	}
	return m.store(ctx, sc, g.Name, der, priv, g.Managed, g.SetID, g.ActiveFrom)
}

// Import stores a PEM certificate and, optionally, its PEM private key
// (PKCS#8, PKCS#1 or SEC 1). The key must match the certificate.
func (m *Manager) Import(ctx context.Context, sc store.Scope, name, certPEM, keyPEM string) (*store.CertificateKeyPair, error) {
	if len(certPEM) > store.MaxCertificateLen || len(keyPEM) > store.MaxCertificateLen {
		return nil, store.Invalid("certificate_data", "must be at most %d bytes", store.MaxCertificateLen)
	}
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, store.Invalid("certificate_data", "is not a PEM-encoded X.509 certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, store.Invalid("certificate_data", "is not a valid X.509 certificate: %v", err)
	}
	var priv crypto.Signer
	if strings.TrimSpace(keyPEM) != "" {
		if priv, err = ParsePrivateKey([]byte(keyPEM)); err != nil {
			return nil, store.Invalid("key_data", "%v", err)
		}
		if !publicEqual(priv.Public(), cert.PublicKey) {
			return nil, store.Invalid("key_data", "does not match the certificate's public key")
		}
	}
	if _, err := keyType(cert.PublicKey); err != nil {
		return nil, store.Invalid("certificate_data", "%v", err)
	}
	return m.store(ctx, sc, name, block.Bytes, priv, "", uuid.Nil, time.Time{})
}

func (m *Manager) store(ctx context.Context, sc store.Scope, name string, der []byte, priv crypto.Signer, managed string,
	setID uuid.UUID, activeFrom time.Time) (*store.CertificateKeyPair, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kt, err := keyType(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	kid, err := thumbprint(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	k := &store.CertificateKeyPair{ID: uuid.Must(uuid.NewV7()), Name: name, KeyType: kt, KID: kid, Managed: managed,
		SetID: setID, ActiveFrom: activeFrom,
		CertificatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
	if priv != nil {
		p8, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		k.KeyEnc = m.box.SealString(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})), AAD(sc.TenantID(), k.ID))
	}
	if err := sc.CertificateKeyPairs().Create(ctx, k); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate adds a new key of the same type to id's set. It is published at
// once and signs after publishAhead; every older member stays published
// for grace after that (pass the longest lifetime of a token the key
// signs), then drops out of JWKS.
func (m *Manager) Rotate(ctx context.Context, sc store.Scope, id uuid.UUID, publishAhead, grace time.Duration) (*store.CertificateKeyPair, error) {
	if publishAhead < 0 || grace < 0 {
		return nil, store.Invalid("grace", "must not be negative")
	}
	cur, err := sc.CertificateKeyPairs().Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.KeyEnc == "" {
		return nil, store.Invalid("key_data", "a certificate without a private key cannot be rotated")
	}
	members, err := sc.CertificateKeyPairs().ListSet(ctx, id)
	if err != nil {
		return nil, err
	}
	now := m.now()
	start := now.Add(publishAhead)
	name := fmt.Sprintf("%s (%s)", baseName(cur.Name), start.UTC().Format("2006-01-02 15:04:05"))
	next, err := m.Generate(ctx, sc, Generate{Name: name, Type: cur.KeyType, SetID: cur.SetID, ActiveFrom: start})
	if err != nil {
		return nil, err
	}
	retire := start.Add(grace)
	// The retirements and their announcement commit together; the new key
	// is already stored, and the announcement covers it too.
	err = sc.Tx(ctx, func(tx store.Scope) error {
		for _, old := range members {
			if !old.RetiredAt.IsZero() && old.RetiredAt.Before(retire) {
				continue
			}
			if _, err := tx.CertificateKeyPairs().Update(ctx, old.ID, func(k *store.CertificateKeyPair) error {
				k.RetiredAt = retire
				if k.ActiveFrom.After(retire) {
					k.ActiveFrom = retire // a member that was still waiting never signs
				}
				return nil
			}); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return m.Changed(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// baseName strips the rotation suffix so names do not grow on every rotation.
func baseName(n string) string {
	if i := strings.LastIndex(n, " ("); i > 0 && strings.HasSuffix(n, ")") {
		return n[:i]
	}
	return n
}

// Changed tells every replica's manager (through Bus) that sc's key pairs
// changed, so they drop their cached sets: Rotate calls it, and so must
// writers that edit key pairs around the manager (the API's rename and
// delete). Given a transaction's scope, it is part of the transaction: a
// rollback announces nothing, and the error, if any, should roll it back.
func (m *Manager) Changed(ctx context.Context, sc store.Scope) error {
	if m.Bus != nil {
		return m.Bus.PublishTx(ctx, sc, invalidate.Keys)
	}
	tenant := sc.TenantID()
	sc.AfterCommit(func() { m.Invalidate(tenant) })
	return nil
}

// Invalidate drops the cached sets of a tenant (of every tenant for
// uuid.Nil): the invalidate.Keys subscriber.
func (m *Manager) Invalidate(tenant uuid.UUID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.sets {
		if k.tenant == tenant || tenant == uuid.Nil {
			delete(m.sets, k)
		}
	}
}

// set returns the (cached) members of id's rotation set.
func (m *Manager) set(ctx context.Context, sc store.Scope, id uuid.UUID) (setEntry, error) {
	key := setKey{sc.TenantID(), id}
	now := m.now()
	m.mu.Lock()
	e, ok := m.sets[key]
	m.mu.Unlock()
	if ok && now.Sub(e.loaded) < cacheTTL && !now.Before(e.loaded) {
		return e, nil
	}
	members, err := sc.CertificateKeyPairs().ListSet(ctx, id)
	if err != nil {
		return setEntry{}, err
	}
	if len(members) == 0 {
		return setEntry{}, store.ErrNotFound
	}
	e = setEntry{members: members, loaded: now}
	if e.jwks, err = jwksOf(members, now); err != nil {
		return setEntry{}, err
	}
	m.mu.Lock()
	if len(m.sets) > 10_000 {
		clear(m.sets) // bounded: tenants x keys in use is small
	}
	m.sets[key] = e
	m.mu.Unlock()
	return e, nil
}

// published reports whether k belongs in JWKS at now.
func published(k *store.CertificateKeyPair, now time.Time) bool {
	return k.RetiredAt.IsZero() || now.Before(k.RetiredAt)
}

// Signer returns the signer for id's set at this moment: the newest member
// that has a private key and whose active_from has passed.
func (m *Manager) Signer(ctx context.Context, sc store.Scope, id uuid.UUID) (*Signer, error) {
	e, err := m.set(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	now := m.now()
	for _, k := range e.members { // newest active_from first
		if k.KeyEnc == "" || now.Before(k.ActiveFrom) || !published(k, now) {
			continue
		}
		return m.signerFor(sc.TenantID(), k)
	}
	return nil, ErrNoKey
}

func (m *Manager) signerFor(tenant uuid.UUID, k *store.CertificateKeyPair) (*Signer, error) {
	m.mu.Lock()
	s, ok := m.signers[k.ID]
	m.mu.Unlock()
	if ok && s.version == k.Version {
		return s, nil
	}
	raw, err := m.box.OpenString(k.KeyEnc, AAD(tenant, k.ID))
	if err != nil {
		return nil, fmt.Errorf("keys: open private key of %q: %w", k.Name, err)
	}
	priv, err := ParsePrivateKey([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("keys: private key of %q: %w", k.Name, err)
	}
	alg, err := algorithm(priv.Public())
	if err != nil {
		return nil, err
	}
	s = &Signer{kid: k.KID, alg: alg, key: priv, version: k.Version, byTyp: map[string]jose.Signer{}}
	m.mu.Lock()
	if len(m.signers) > 10_000 {
		clear(m.signers)
	}
	m.signers[k.ID] = s
	m.mu.Unlock()
	return s, nil
}

// JWKS returns the JSON Web Key Set publishing every published member of
// the sets that ids name. Unknown IDs are skipped.
func (m *Manager) JWKS(ctx context.Context, sc store.Scope, ids ...uuid.UUID) ([]byte, error) {
	if len(ids) == 1 {
		e, err := m.set(ctx, sc, ids[0])
		if errors.Is(err, store.ErrNotFound) {
			return []byte(`{"keys":[]}`), nil
		}
		return e.jwks, err
	}
	var all []*store.CertificateKeyPair
	for _, id := range ids {
		e, err := m.set(ctx, sc, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, k := range e.members {
			if !slices.ContainsFunc(all, func(x *store.CertificateKeyPair) bool { return x.ID == k.ID }) {
				all = append(all, k)
			}
		}
	}
	return jwksOf(all, m.now())
}

func jwksOf(members []*store.CertificateKeyPair, now time.Time) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range members {
		if !published(k, now) {
			continue
		}
		jwk, err := PublicJWK(k)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, jwk)
	}
	return json.Marshal(set)
}

// PublicJWK is k's public key as a JWK with its certificate (x5c), as
// Authentik publishes it.
func PublicJWK(k *store.CertificateKeyPair) (jose.JSONWebKey, error) {
	block, _ := pem.Decode([]byte(k.CertificatePEM))
	if block == nil {
		return jose.JSONWebKey{}, fmt.Errorf("keys: certificate of %q is not PEM", k.Name)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("keys: certificate of %q: %w", k.Name, err)
	}
	alg, err := algorithm(cert.PublicKey)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	sum := sha256.Sum256(cert.Raw)
	return jose.JSONWebKey{Key: cert.PublicKey, KeyID: k.KID, Algorithm: alg, Use: "sig",
		Certificates: []*x509.Certificate{cert}, CertificateThumbprintSHA256: sum[:]}, nil
}

// Signer signs JWTs with one private key. Its methods are safe for
// concurrent use.
type Signer struct {
	kid, alg string
	key      crypto.Signer
	version  int64

	mu    sync.Mutex
	byTyp map[string]jose.Signer
}

// Algorithm is the JWS alg the signer uses.
func (s *Signer) Algorithm() string { return s.alg }

// KeyID is the kid in the tokens' headers.
func (s *Signer) KeyID() string { return s.kid }

// Public is the public key, for verifying what the signer signed.
func (s *Signer) Public() crypto.PublicKey { return s.key.Public() }

// Sign returns claims as a compact JWS with the kid header and, when typ
// is not "", the typ header (RFC 9068 access tokens use "at+jwt").
func (s *Signer) Sign(claims any, typ string) (string, error) {
	s.mu.Lock()
	js, ok := s.byTyp[typ]
	if !ok {
		opts := (&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), s.kid)
		if typ != "" {
			opts = opts.WithType(jose.ContentType(typ))
		}
		var err error
		js, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(s.alg), Key: s.key}, opts)
		if err != nil {
			s.mu.Unlock()
			return "", fmt.Errorf("keys: %w", err)
		}
		s.byTyp[typ] = js
	}
	s.mu.Unlock()
	return jwt.SignWith(js, claims)
}

// ParsePrivateKey reads a PEM private key in PKCS#8, PKCS#1 (RSA) or SEC 1
// (EC) form. Only keys that can sign JWTs are accepted.
func ParsePrivateKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("is not a PEM-encoded private key")
	}
	//lint:ignore SA1019 used only to refuse such keys with a clear message
	if x509.IsEncryptedPEMBlock(block) {
		return nil, errors.New("is encrypted; remove the passphrase first (openssl pkey -in key.pem -out plain.pem)")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("has PEM type %q; want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot be parsed: %v", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("is not a signing key")
	}
	if _, err := algorithm(signer.Public()); err != nil {
		return nil, err
	}
	return signer, nil
}

// algorithm is the JWS alg for a public key: RS256 for RSA of at least
// 2048 bits, ES256/ES384/ES512 by curve, EdDSA for Ed25519.
func algorithm(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N.BitLen() < 2048 {
			return "", fmt.Errorf("RSA key has %d bits; at least 2048 are required", p.N.BitLen())
		}
		return string(jose.RS256), nil
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			return string(jose.ES256), nil
		case elliptic.P384():
			return string(jose.ES384), nil
		case elliptic.P521():
			return string(jose.ES512), nil
		}
		return "", errors.New("EC key is on an unsupported curve; use P-256, P-384 or P-521")
	case ed25519.PublicKey:
		return string(jose.EdDSA), nil
	}
	return "", fmt.Errorf("key type %T cannot sign JWTs; use RSA, EC or Ed25519", pub)
}

func keyType(pub crypto.PublicKey) (string, error) {
	if _, err := algorithm(pub); err != nil {
		return "", err
	}
	switch pub.(type) {
	case *rsa.PublicKey:
		return store.KeyTypeRSA, nil
	case *ecdsa.PublicKey:
		return store.KeyTypeEC, nil
	}
	return store.KeyTypeEd25519, nil
}

// thumbprint is the RFC 7638 JWK thumbprint, the key's kid: stable for a
// key whatever its certificate, and unique across keys.
func thumbprint(pub crypto.PublicKey) (string, error) {
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

func publicEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}
