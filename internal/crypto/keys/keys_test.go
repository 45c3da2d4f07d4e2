package keys_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/crypto/jwt"
	"github.com/gatehouse-id/gatehouse/internal/crypto/keys"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type env struct {
	m   *keys.Manager
	sc  store.Scope
	db  *sqlstore.DB
	clk *clock
	box *secretbox.Box
}

func setup(t testing.TB) *env {
	t.Helper()
	db := sqlitetest.Open(t)
	ten, err := db.Tenants().EnsureDefault(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(strings.Repeat("k", 50))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	return &env{m: keys.NewManager(db, box, clk.now), sc: db.Scope(ten.ID), db: db, clk: clk, box: box}
}

// verify checks tok against the JWKS the manager publishes for id, as a
// relying party would.
func (e *env) verify(t *testing.T, id any, tok string) error {
	t.Helper()
	k := id.(*store.CertificateKeyPair)
	body, err := e.m.JWKS(t.Context(), e.sc, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS %s: %v", body, err)
	}
	_, _, err = jwt.Verify(tok, jwt.Keys(set.Keys), []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	return err
}

func TestGenerateSignVerifyEachType(t *testing.T) {
	e := setup(t)
	for typ, alg := range map[string]string{store.KeyTypeRSA: "RS256", store.KeyTypeEC: "ES256", store.KeyTypeEd25519: "EdDSA"} {
		k, err := e.m.Generate(t.Context(), e.sc, keys.Generate{Name: typ + " key", Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(k.KeyEnc, "PRIVATE") || k.KeyEnc == "" {
			t.Fatalf("%s: private key stored as %q", typ, k.KeyEnc)
		}
		s, err := e.m.Signer(t.Context(), e.sc, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Algorithm() != alg || s.KeyID() != k.KID {
			t.Errorf("%s: alg %s kid %s, want %s %s", typ, s.Algorithm(), s.KeyID(), alg, k.KID)
		}
		tok, err := s.Sign(map[string]any{"sub": "alice"}, "at+jwt")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.verify(t, k, tok); err != nil {
			t.Errorf("%s: token does not verify against JWKS: %v", typ, err)
		}
		hdr, _ := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
		if hdr == nil || hdr.Signatures[0].Protected.ExtraHeaders["typ"] != "at+jwt" {
			t.Errorf("%s: typ header missing", typ)
		}
	}
}

func TestEnsureDefaultIsIdempotent(t *testing.T) {
	e := setup(t)
	a, err := e.m.EnsureDefault(t.Context(), e.sc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.m.EnsureDefault(t.Context(), e.sc)
	if err != nil || a.ID != b.ID || a.KeyType != store.KeyTypeRSA {
		t.Fatalf("second EnsureDefault = %v, %v; want %s (rsa)", b, err, a.ID)
	}
}

func TestSealedKeyIsBoundToItsRow(t *testing.T) {
	e := setup(t)
	a, _ := e.m.Generate(t.Context(), e.sc, keys.Generate{Name: "a", Type: store.KeyTypeEC})
	b, _ := e.m.Generate(t.Context(), e.sc, keys.Generate{Name: "b", Type: store.KeyTypeEC})
	// Someone with database access copies a's sealed key into b's row.
	if _, err := e.sc.CertificateKeyPairs().Update(t.Context(), b.ID, func(k *store.CertificateKeyPair) error {
		k.KeyEnc = a.KeyEnc
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Signer(t.Context(), e.sc, b.ID); err == nil {
		t.Fatal("a sealed key moved to another row still opened")
	}
	// Another secret key cannot open it either.
	other, _ := secretbox.New(strings.Repeat("x", 50))
	if _, err := keys.NewManager(e.db, other, e.clk.now).Signer(t.Context(), e.sc, a.ID); err == nil {
		t.Fatal("a different secret key opened the private key")
	}
}

func selfSigned(t *testing.T, priv any, pub any) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "imported"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestImport(t *testing.T) {
	e := setup(t)
	priv, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	certPEM := selfSigned(t, priv, priv.Public())
	sec1, _ := x509.MarshalECPrivateKey(priv)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	k, err := e.m.Import(t.Context(), e.sc, "imported", certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.m.Signer(t.Context(), e.sc, k.ID)
	if err != nil || s.Algorithm() != "ES384" {
		t.Fatalf("signer = %v, %v; want ES384", s, err)
	}
	// A certificate alone imports, and cannot sign.
	if _, err := e.m.Import(t.Context(), e.sc, "same key again", selfSigned(t, priv, priv.Public()), ""); !errors.Is(err, store.ErrConflict) {
		t.Errorf("importing the same public key twice: %v, want a conflict (one kid per key)", err)
	}
	priv2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := e.m.Import(t.Context(), e.sc, "cert only", selfSigned(t, priv2, priv2.Public()), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Signer(t.Context(), e.sc, c.ID); !errors.Is(err, keys.ErrNoKey) {
		t.Errorf("signer for a certificate without key: %v, want ErrNoKey", err)
	}

	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	p8, _ := x509.MarshalPKCS8PrivateKey(other)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	weakDER := x509.MarshalPKCS1PrivateKey(weak)
	for name, tc := range map[string]struct{ cert, key, field, msg string }{
		"mismatched key":  {certPEM, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})), "key_data", "does not match"},
		"not a cert":      {"hello", keyPEM, "certificate_data", "not a PEM"},
		"garbage key":     {certPEM, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "key_data", "cannot be parsed"},
		"weak rsa":        {selfSigned(t, weak, weak.Public()), string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: weakDER})), "key_data", "2048"},
		"wrong pem type":  {certPEM, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: sec1})), "key_data", "PEM type"},
		"oversized input": {strings.Repeat("A", store.MaxCertificateLen+1), "", "certificate_data", "at most"},
	} {
		_, err := e.m.Import(t.Context(), e.sc, name, tc.cert, tc.key)
		var ve *store.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want a %s error mentioning %q", name, err, tc.field, tc.msg)
		}
	}
	if _, n, _ := e.sc.CertificateKeyPairs().List(t.Context(), store.Page{}); n != 2 {
		t.Errorf("%d key pairs stored, want only the 2 valid imports", n)
	}
}

func kids(t *testing.T, e *env, k *store.CertificateKeyPair) []string {
	body, err := e.m.JWKS(t.Context(), e.sc, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	json.Unmarshal(body, &set)
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func TestRotationPublishesAheadAndKeepsOldKeyForGrace(t *testing.T) {
	e := setup(t)
	old, _ := e.m.Generate(t.Context(), e.sc, keys.Generate{Name: "signing", Type: store.KeyTypeEd25519})
	oldSigner, _ := e.m.Signer(t.Context(), e.sc, old.ID)
	oldTok, _ := oldSigner.Sign(map[string]any{"sub": "a"}, "")

	next, err := e.m.Rotate(t.Context(), e.sc, old.ID, time.Hour, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if next.SetID != old.SetID || next.Name == old.Name {
		t.Fatalf("rotated key %+v is not a new member of the old key's set", next)
	}
	// Published at once, signing only after an hour.
	if got := kids(t, e, old); len(got) != 2 {
		t.Fatalf("JWKS right after rotation = %v, want old and new", got)
	}
	if s, _ := e.m.Signer(t.Context(), e.sc, old.ID); s.KeyID() != old.KID {
		t.Fatalf("signing with %s before the new key is active, want old %s", s.KeyID(), old.KID)
	}
	e.clk.add(time.Hour + time.Second)
	s, _ := e.m.Signer(t.Context(), e.sc, old.ID) // the provider still names the old key
	if s.KeyID() != next.KID {
		t.Fatalf("after publishAhead signing with %s, want new %s", s.KeyID(), next.KID)
	}
	if err := e.verify(t, old, oldTok); err != nil {
		t.Errorf("a token signed before rotation no longer verifies during the grace period: %v", err)
	}
	e.clk.add(2 * time.Hour)
	if got := kids(t, e, old); len(got) != 1 || got[0] != next.KID {
		t.Fatalf("JWKS after grace = %v, want only %s", got, next.KID)
	}
	if err := e.verify(t, old, oldTok); err == nil {
		t.Error("a token signed by the retired key still verifies after grace")
	}
	// Rotating again keeps the name from growing.
	third, err := e.m.Rotate(t.Context(), e.sc, next.ID, 0, time.Minute)
	if err != nil || strings.Count(third.Name, "(") != 1 {
		t.Fatalf("second rotation = %+v, %v", third, err)
	}
	if s, _ := e.m.Signer(t.Context(), e.sc, old.ID); s.KeyID() != third.KID {
		t.Errorf("publishAhead 0: signing with %s, want %s at once", s.KeyID(), third.KID)
	}
	if _, err := e.m.Rotate(t.Context(), e.sc, old.ID, -time.Second, 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("negative publishAhead: %v, want invalid", err)
	}
}

func TestTenantsAreIsolated(t *testing.T) {
	e := setup(t)
	k, _ := e.m.EnsureDefault(t.Context(), e.sc)
	other := &store.Tenant{Name: "other"}
	if err := e.db.Tenants().Create(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	osc := e.db.Scope(other.ID)
	if _, err := e.m.Signer(t.Context(), osc, k.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant B signed with tenant A's key: %v", err)
	}
	if body, _ := e.m.JWKS(t.Context(), osc, k.ID); string(body) != `{"keys":[]}` {
		t.Errorf("tenant B published tenant A's key: %s", body)
	}
}

// BenchmarkSign is the crypto floor the token endpoint is measured
// against: a cached signer signing a typical access token.
func BenchmarkSign(b *testing.B) {
	for _, typ := range []string{store.KeyTypeRSA, store.KeyTypeEC, store.KeyTypeEd25519} {
		b.Run(typ, func(b *testing.B) {
			e := setup(b)
			k, _ := e.m.Generate(b.Context(), e.sc, keys.Generate{Name: typ, Type: typ})
			claims := map[string]any{"iss": "http://localhost:9000/application/o/app/", "sub": "0123456789abcdef",
				"aud": "client", "exp": 1, "iat": 1, "scope": "openid profile email"}
			b.ReportAllocs()
			for b.Loop() {
				s, err := e.m.Signer(b.Context(), e.sc, k.ID)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Sign(claims, "at+jwt"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
