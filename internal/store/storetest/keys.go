package storetest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func keyTests() []namedTest {
	return []namedTest{
		{"CertificateKeyPairs", testKeyPairs},
		{"CertificateKeyPairValidation", testKeyPairValidation},
		{"CertificateKeyPairSets", testKeyPairSets},
		{"CertificateKeyPairTenantIsolation", testKeyPairTenantIsolation},
	}
}

// testCertificate is a throwaway self-signed Ed25519 certificate: the store
// only checks that the PEM is a certificate.
func testCertificate(t *testing.T, cn string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	noErr(t, "generate key", err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	noErr(t, "create certificate", err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func newKeyPair(t *testing.T, name, kid string) *store.CertificateKeyPair {
	return &store.CertificateKeyPair{Name: name, CertificatePEM: testCertificate(t, name), KeyEnc: "sealed-" + kid,
		KeyType: store.KeyTypeEd25519, KID: kid}
}

func mustKeyPair(t *testing.T, sc store.Scope, k *store.CertificateKeyPair) *store.CertificateKeyPair {
	t.Helper()
	noErr(t, "create key pair "+k.Name, sc.CertificateKeyPairs().Create(t.Context(), k))
	return k
}

func wantConflictOn(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Field != field {
		t.Fatalf("%s: want a conflict on %q, got %v", what, field, err)
	}
}

func testKeyPairs(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	kps := sc.CertificateKeyPairs()
	at := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	k := newKeyPair(t, "  gatehouse Internal JWT Certificate ", "kid-1")
	k.Managed, k.ActiveFrom = "goauthentik.io/crypto/jwt-managed", at
	mustKeyPair(t, sc, k)
	if k.ID == uuid.Nil || k.SetID != k.ID || k.Version != 1 || k.CreatedAt.IsZero() {
		t.Fatalf("Create: want ID, SetID = ID, version 1 and a creation time filled, got %+v", k)
	}
	got, err := kps.Get(ctx, k.ID)
	noErr(t, "Get", err)
	if got.Name != "gatehouse Internal JWT Certificate" || got.CertificatePEM != k.CertificatePEM || got.KeyEnc != "sealed-kid-1" ||
		got.KeyType != "ed25519" || got.KID != "kid-1" || !got.ActiveFrom.Equal(at) || !got.RetiredAt.IsZero() ||
		got.Managed != k.Managed || !got.CreatedAt.Equal(k.CreatedAt) {
		t.Fatalf("Get: want the stored fields back (name trimmed), got %+v", got)
	}
	byName, err := kps.GetByName(ctx, "gatehouse Internal JWT Certificate")
	noErr(t, "GetByName", err)
	byManaged, err := kps.GetByManaged(ctx, "goauthentik.io/crypto/jwt-managed")
	noErr(t, "GetByManaged", err)
	if byName.ID != k.ID || byManaged.ID != k.ID {
		t.Fatalf("GetByName/GetByManaged: want %v, got %v and %v", k.ID, byName.ID, byManaged.ID)
	}
	_, err = kps.GetByManaged(ctx, "")
	wantErr(t, "GetByManaged with an empty marker", err, store.ErrNotFound)

	// Certificates without a key and unmanaged keys are allowed side by side.
	cert := newKeyPair(t, "b certificate only", "kid-2")
	cert.KeyEnc = ""
	mustKeyPair(t, sc, cert)
	mustKeyPair(t, sc, newKeyPair(t, "a unmanaged", "kid-3"))

	dup := newKeyPair(t, "gatehouse Internal JWT Certificate", "kid-4")
	wantConflictOn(t, "duplicate name", kps.Create(ctx, dup), "name")
	wantConflictOn(t, "duplicate kid", kps.Create(ctx, newKeyPair(t, "other", "kid-1")), "kid")
	managed := newKeyPair(t, "second managed", "kid-5")
	managed.Managed = k.Managed
	wantConflictOn(t, "duplicate managed marker", kps.Create(ctx, managed), "managed")

	list, total, err := kps.List(ctx, store.Page{Size: 2})
	noErr(t, "List", err)
	if total != 3 || len(list) != 2 || list[0].Name != "a unmanaged" || list[1].Name != "b certificate only" {
		t.Fatalf("List page 1 of 2: want 3 in total, the first two by name, got %d %+v", total, list)
	}
	list, _, err = kps.List(ctx, store.Page{Number: 2, Size: 2})
	noErr(t, "List page 2", err)
	if len(list) != 1 || list[0].ID != k.ID {
		t.Fatalf("List page 2: want the managed key, got %+v", list)
	}

	retired := at.Add(time.Hour)
	up, err := kps.Update(ctx, k.ID, func(x *store.CertificateKeyPair) error {
		x.RetiredAt, x.Managed, x.Name = retired, "", "old key"
		x.SetID, x.Version = uuid.New(), 99 // ignored
		return nil
	})
	noErr(t, "Update", err)
	if up.Version != 2 || up.SetID != k.ID || !up.RetiredAt.Equal(retired) || up.Managed != "" {
		t.Fatalf("Update: want version 2, the set unchanged and the new fields, got %+v", up)
	}
	got, _ = kps.Get(ctx, k.ID)
	if got.Name != "old key" || !got.RetiredAt.Equal(retired) || got.Managed != "" || got.Version != 2 {
		t.Fatalf("Update: want the written row back, got %+v", got)
	}
	_, err = kps.GetByManaged(ctx, "goauthentik.io/crypto/jwt-managed")
	wantErr(t, "GetByManaged after the marker moved away", err, store.ErrNotFound)
	_, err = kps.Update(ctx, k.ID, func(x *store.CertificateKeyPair) error { x.Name = "a unmanaged"; return nil })
	wantConflictOn(t, "rename onto another key", err, "name")
	_, err = kps.Update(ctx, uuid.New(), func(x *store.CertificateKeyPair) error { return nil })
	wantErr(t, "Update of an unknown key", err, store.ErrNotFound)
	sentinel := errors.New("stop")
	_, err = kps.Update(ctx, k.ID, func(x *store.CertificateKeyPair) error { return sentinel })
	wantErr(t, "Update whose fn fails", err, sentinel)

	noErr(t, "Delete", kps.Delete(ctx, k.ID))
	wantErr(t, "Delete twice", kps.Delete(ctx, k.ID), store.ErrNotFound)
	_, err = kps.Get(ctx, k.ID)
	wantErr(t, "Get after Delete", err, store.ErrNotFound)
}

func testKeyPairValidation(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	kps := sc.CertificateKeyPairs()
	cases := []struct {
		name  string
		edit  func(*store.CertificateKeyPair)
		field string
	}{
		{"empty name", func(k *store.CertificateKeyPair) { k.Name = "  " }, "name"},
		{"long name", func(k *store.CertificateKeyPair) { k.Name = string(make([]rune, 257)) }, "name"},
		{"not PEM", func(k *store.CertificateKeyPair) { k.CertificatePEM = "hello" }, "certificate_data"},
		{"a key instead of a certificate", func(k *store.CertificateKeyPair) {
			k.CertificatePEM = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
		}, "certificate_data"},
		{"garbage certificate", func(k *store.CertificateKeyPair) {
			k.CertificatePEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}, "certificate_data"},
		{"unknown key type", func(k *store.CertificateKeyPair) { k.KeyType = "dsa" }, "key_type"},
		{"no kid", func(k *store.CertificateKeyPair) { k.KID = "" }, "kid"},
		{"plain private key", func(k *store.CertificateKeyPair) {
			k.KeyEnc = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
		}, "key_data"},
		{"retired before active", func(k *store.CertificateKeyPair) {
			k.ActiveFrom, k.RetiredAt = time.Now(), time.Now().Add(-time.Hour)
		}, "retired_at"},
	}
	for _, c := range cases {
		k := newKeyPair(t, "k", "kid")
		c.edit(k)
		wantField(t, c.name, kps.Create(ctx, k), c.field)
	}
	k := mustKeyPair(t, sc, newKeyPair(t, "k", "kid"))
	_, err := kps.Update(ctx, k.ID, func(x *store.CertificateKeyPair) error { x.KeyType = "ed448"; return nil })
	wantField(t, "Update to an unknown key type", err, "key_type")
	if _, total, _ := kps.List(ctx, store.Page{}); total != 1 {
		t.Fatalf("invalid writes must store nothing: want 1 key, got %d", total)
	}
}

func testKeyPairSets(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	kps := sc.CertificateKeyPairs()
	now := time.Now().UTC().Truncate(time.Microsecond)
	first := newKeyPair(t, "first", "kid-1")
	first.ActiveFrom = now.Add(-time.Hour)
	mustKeyPair(t, sc, first)
	second := newKeyPair(t, "second", "kid-2")
	second.SetID, second.ActiveFrom = first.ID, now
	mustKeyPair(t, sc, second)
	third := newKeyPair(t, "third", "kid-3")
	third.SetID, third.ActiveFrom = first.ID, now.Add(time.Hour)
	mustKeyPair(t, sc, third)
	other := mustKeyPair(t, sc, newKeyPair(t, "other", "kid-4"))

	ids := func(list []*store.CertificateKeyPair) []uuid.UUID {
		out := make([]uuid.UUID, len(list))
		for i, k := range list {
			out[i] = k.ID
		}
		return out
	}
	want := []uuid.UUID{third.ID, second.ID, first.ID}
	for _, by := range []*store.CertificateKeyPair{first, second, third} {
		set, err := kps.ListSet(ctx, by.ID)
		noErr(t, "ListSet", err)
		if got := ids(set); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("ListSet(%s): want the three members, newest active_from first %v, got %v", by.Name, want, got)
		}
	}
	set, err := kps.ListSet(ctx, other.ID)
	noErr(t, "ListSet other", err)
	if len(set) != 1 || set[0].ID != other.ID {
		t.Fatalf("ListSet of a key without successors: want just it, got %v", ids(set))
	}
	// The set outlives its first key: the set ID still names it.
	noErr(t, "delete the first key", kps.Delete(ctx, first.ID))
	set, err = kps.ListSet(ctx, first.ID)
	noErr(t, "ListSet after deleting the first key", err)
	if len(set) != 2 || set[0].ID != third.ID {
		t.Fatalf("ListSet by the deleted first key's ID: want the two remaining members, got %v", ids(set))
	}
	set, err = kps.ListSet(ctx, uuid.New())
	noErr(t, "ListSet unknown", err)
	if len(set) != 0 {
		t.Fatalf("ListSet of an unknown ID: want nothing, got %v", ids(set))
	}
}

func testKeyPairTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustTenant(t, s, "a"), mustTenant(t, s, "b")
	k := newKeyPair(t, "shared name", "shared-kid")
	k.Managed = "goauthentik.io/crypto/jwt-managed"
	mustKeyPair(t, a, k)
	kb := b.CertificateKeyPairs()

	_, err := kb.Get(ctx, k.ID)
	wantErr(t, "Get from another tenant", err, store.ErrNotFound)
	_, err = kb.GetByName(ctx, k.Name)
	wantErr(t, "GetByName from another tenant", err, store.ErrNotFound)
	_, err = kb.GetByManaged(ctx, k.Managed)
	wantErr(t, "GetByManaged from another tenant", err, store.ErrNotFound)
	set, err := kb.ListSet(ctx, k.ID)
	noErr(t, "ListSet from another tenant", err)
	if len(set) != 0 {
		t.Fatalf("ListSet from another tenant: want nothing, got %d keys", len(set))
	}
	list, total, err := kb.List(ctx, store.Page{})
	noErr(t, "List in another tenant", err)
	if total != 0 || len(list) != 0 {
		t.Fatalf("List in another tenant: want nothing, got %d", total)
	}
	_, err = kb.Update(ctx, k.ID, func(x *store.CertificateKeyPair) error { x.Name = "stolen"; return nil })
	wantErr(t, "Update from another tenant", err, store.ErrNotFound)
	wantErr(t, "Delete from another tenant", kb.Delete(ctx, k.ID), store.ErrNotFound)

	// Names, kids and managed markers are unique per tenant only.
	kb2 := newKeyPair(t, "shared name", "shared-kid")
	kb2.Managed = k.Managed
	noErr(t, "same name, kid and marker in another tenant", kb.Create(ctx, kb2))
	// A key of tenant b cannot join a rotation set of tenant a.
	intruder := newKeyPair(t, "intruder", "intruder-kid")
	intruder.SetID = k.ID
	noErr(t, "create with a foreign set ID", kb.Create(ctx, intruder))
	set, err = a.CertificateKeyPairs().ListSet(ctx, k.ID)
	noErr(t, "ListSet in tenant a", err)
	if len(set) != 1 || set[0].ID != k.ID {
		t.Fatalf("a rotation set must only hold its tenant's keys, got %d keys", len(set))
	}
	got, err := a.CertificateKeyPairs().Get(ctx, k.ID)
	noErr(t, "Get in the owning tenant", err)
	if got.Name != "shared name" || got.Version != 1 {
		t.Fatalf("the owning tenant's key must be untouched, got %+v", got)
	}
}
