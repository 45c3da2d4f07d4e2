package store

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Key types of a certificate key pair, as Authentik's key_type (which also
// knows dsa and ed448: neither can sign JWTs here, so neither is stored).
const (
	KeyTypeRSA     = "rsa"
	KeyTypeEC      = "ec"
	KeyTypeEd25519 = "ed25519"
)

var keyTypes = []string{KeyTypeRSA, KeyTypeEC, KeyTypeEd25519}

// MaxCertificateLen bounds a stored certificate PEM (a chain of a few
// certificates fits easily).
const MaxCertificateLen = 64 << 10

// CertificateKeyPair is Authentik's CertificateKeyPair: a certificate and,
// optionally, its private key. The store never sees the private key in
// plain text: KeyEnc holds its PEM sealed by the secret box with additional
// data naming this row, so the key package alone can open it.
//
// Keys rotate in sets: the first key of a set has SetID == ID, and each
// successor made by rotation shares that SetID. ActiveFrom and RetiredAt say
// when a key signs (ActiveFrom <= now < RetiredAt); see docs/keys.md.
type CertificateKeyPair struct {
	ID   uuid.UUID
	Name string
	// CertificatePEM is the certificate, the first PEM block being the
	// key pair's own certificate.
	CertificatePEM string
	// KeyEnc is the sealed private key PEM; "" for a certificate without key.
	KeyEnc  string
	KeyType string // rsa | ec | ed25519
	// KID is the JWK key ID published in JWKS and in token headers.
	KID   string
	SetID uuid.UUID
	// ActiveFrom and RetiredAt are zero when not set.
	ActiveFrom time.Time
	RetiredAt  time.Time
	// Managed marks keys that Gatehouse creates itself, as Authentik's
	// managed field ("goauthentik.io/crypto/jwt-managed"); unique per tenant.
	Managed   string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// Validate checks every field and reports all problems at once.
func (k *CertificateKeyPair) Validate() error {
	v := &ValidationError{}
	if n := utf8.RuneCountInString(strings.TrimSpace(k.Name)); n == 0 || n > 256 {
		v.Add("name", "must be 1 to 256 characters")
	}
	switch {
	case len(k.CertificatePEM) > MaxCertificateLen:
		v.Add("certificate_data", "must be at most %d bytes", MaxCertificateLen)
	case !parsesAsCertificate(k.CertificatePEM):
		v.Add("certificate_data", "is not a PEM-encoded X.509 certificate")
	}
	oneOf(v, "key_type", k.KeyType, keyTypes)
	if k.KID == "" || len(k.KID) > 128 {
		v.Add("kid", "must be 1 to 128 characters")
	}
	if len(k.KeyEnc) > MaxCertificateLen {
		v.Add("key_data", "must be at most %d bytes", MaxCertificateLen)
	}
	if strings.Contains(k.KeyEnc, "PRIVATE KEY") {
		// A plain PEM here means a caller forgot to seal it.
		v.Add("key_data", "must be sealed, not a plain private key")
	}
	if len(k.Managed) > 256 {
		v.Add("managed", "must be at most 256 characters")
	}
	if !k.RetiredAt.IsZero() && !k.ActiveFrom.IsZero() && k.RetiredAt.Before(k.ActiveFrom) {
		v.Add("retired_at", "must not be before active_from")
	}
	return v.Err()
}

func parsesAsCertificate(s string) bool {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" {
		return false
	}
	_, err := x509.ParseCertificate(block.Bytes)
	return err == nil
}

// CertificateKeyPairs is a tenant's certificates and signing keys.
type CertificateKeyPairs interface {
	// Create stores k, filling ID (if Nil), SetID (if Nil: a set of its
	// own), CreatedAt, UpdatedAt and Version. Name, KID and Managed are
	// unique per tenant (ErrConflict).
	Create(ctx context.Context, k *CertificateKeyPair) error
	Get(ctx context.Context, id uuid.UUID) (*CertificateKeyPair, error)
	GetByName(ctx context.Context, name string) (*CertificateKeyPair, error)
	GetByManaged(ctx context.Context, managed string) (*CertificateKeyPair, error)
	// List orders by name.
	List(ctx context.Context, page Page) ([]*CertificateKeyPair, int, error)
	// ListSet returns the rotation set that id names, newest ActiveFrom
	// first: id is the set's ID (its first key's, which may be deleted
	// since) or the ID of any member. Empty when nothing matches.
	ListSet(ctx context.Context, id uuid.UUID) ([]*CertificateKeyPair, error)
	// Update is a compare-and-swap read-modify-write as Users.Update; ID,
	// SetID, CreatedAt and Version are not taken from fn's result.
	Update(ctx context.Context, id uuid.UUID, fn func(*CertificateKeyPair) error) (*CertificateKeyPair, error)
	Delete(ctx context.Context, id uuid.UUID) error
}
