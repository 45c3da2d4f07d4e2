package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func appTests() []namedTest {
	return []namedTest{
		{"Applications", testApplications},
		{"Artifacts", testArtifacts},
		{"ArtifactsConsumeForUser", testArtifactsConsumeForUser},
		{"AppTenantIsolation", testAppTenantIsolation},
	}
}

func mustProvider(t *testing.T, sc store.Scope, name, clientID string) *store.Provider {
	t.Helper()
	p := &store.Provider{Name: name, Kind: "oauth2", ClientID: clientID, SecretEnc: "sealed", Config: json.RawMessage(`{}`)}
	noErr(t, "create provider "+name, sc.Providers().Create(t.Context(), p))
	return p
}

func testApplications(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	p := mustProvider(t, sc, "demo", "client-1")
	mustProvider(t, sc, "saml-one", "") // providers without a client ID do not collide
	mustProvider(t, sc, "saml-two", "")
	wantErr(t, "duplicate client_id", sc.Providers().Create(ctx, &store.Provider{Name: "x", Kind: "oauth2", ClientID: "client-1"}), store.ErrConflict)
	got, err := sc.Providers().GetByClientID(ctx, "client-1")
	noErr(t, "GetByClientID", err)
	if got.ID != p.ID || got.SecretEnc != "sealed" {
		t.Fatalf("GetByClientID: want %v with its sealed secret, got %+v", p.ID, got)
	}
	a := &store.Application{Name: "FastAPI demo", Slug: "fastapi-demo-app", ProviderID: uuid.NullUUID{UUID: p.ID, Valid: true},
		LaunchURL: "http://localhost:8000/"}
	noErr(t, "create application", sc.Applications().Create(ctx, a))
	wantErr(t, "second application on one provider", sc.Applications().Create(ctx, &store.Application{Name: "b", Slug: "b",
		ProviderID: uuid.NullUUID{UUID: p.ID, Valid: true}}), store.ErrConflict)
	wantField(t, "reserved slug", sc.Applications().Create(ctx, &store.Application{Name: "t", Slug: "token"}), "slug")
	wantField(t, "javascript launch URL", sc.Applications().Create(ctx, &store.Application{Name: "j", Slug: "j",
		LaunchURL: "javascript:alert(1)"}), "meta_launch_url")
	byProv, err := sc.Applications().GetByProvider(ctx, p.ID)
	noErr(t, "GetByProvider", err)
	if byProv.ID != a.ID || byProv.PolicyEngineMode != "any" {
		t.Fatalf("GetByProvider: want %v with mode any, got %+v", a.ID, byProv)
	}
	_, err = sc.Applications().UpdateIfVersion(ctx, a.ID, 7, func(x *store.Application) error { return nil })
	wantErr(t, "stale version", err, store.ErrConflict)
	noErr(t, "delete provider", sc.Providers().Delete(ctx, p.ID))
	got2, _ := sc.Applications().Get(ctx, a.ID)
	if got2.ProviderID.Valid {
		t.Fatalf("deleting the provider leaves the application without one, got %v", got2.ProviderID)
	}
	list, total, err := sc.Applications().List(ctx, store.ApplicationQuery{Search: "fastapi"})
	noErr(t, "List", err)
	if total != 1 || list[0].ID != a.ID {
		t.Fatalf("List: want the application, got %d", total)
	}
}

func testArtifacts(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	p := mustProvider(t, sc, "p", "c")
	u := mustUser(t, sc, "u")
	now := time.Now()
	code := &store.Artifact{Kind: "code", KeyHash: hashOf("code"), ProviderID: p.ID, UserID: uuid.NullUUID{UUID: u.ID, Valid: true},
		Data: json.RawMessage(`{"redirect_uri":"http://x/cb"}`), Expires: now.Add(time.Minute)}
	noErr(t, "create code", sc.Artifacts().Create(ctx, code))
	if code.GrantID != code.ID {
		t.Fatalf("a new artifact starts its own grant")
	}
	tok := &store.Artifact{Kind: "access", KeyHash: hashOf("at"), ProviderID: p.ID, GrantID: code.GrantID, Expires: now.Add(time.Hour)}
	noErr(t, "create token", sc.Artifacts().Create(ctx, tok))
	dev := &store.Artifact{Kind: "device", KeyHash: hashOf("dev"), AltKey: "123456789", ProviderID: p.ID, Expires: now.Add(time.Minute)}
	noErr(t, "create device code", sc.Artifacts().Create(ctx, dev))
	got, err := sc.Artifacts().GetByAltKey(ctx, "device", "123456789")
	noErr(t, "GetByAltKey", err)
	if got.ID != dev.ID {
		t.Fatalf("GetByAltKey: want %v", dev.ID)
	}
	_, err = sc.Artifacts().GetByKey(ctx, "access", hashOf("code"))
	wantErr(t, "a code is not an access token", err, store.ErrNotFound)

	// Two concurrent redemptions: exactly one wins.
	wins := race(t, "concurrent Consume", 2, store.ErrConflict, func(int) error { return sc.Artifacts().Consume(ctx, code.ID, now) })
	if wins != 1 {
		t.Fatalf("concurrent Consume: want exactly one success, got %d", wins)
	}
	n, err := sc.Artifacts().ConsumeGrant(ctx, code.GrantID, now)
	noErr(t, "ConsumeGrant", err)
	if n != 1 {
		t.Fatalf("ConsumeGrant: want the access token revoked (1), got %d", n)
	}
	got, _ = sc.Artifacts().GetByKey(ctx, "access", hashOf("at"))
	if got.Usable(now) {
		t.Fatalf("revoked token must not be usable")
	}
	noErr(t, "SetData", sc.Artifacts().SetData(ctx, dev.ID, uuid.NullUUID{UUID: u.ID, Valid: true}, json.RawMessage(`{"status":"approved"}`)))
	if list, _ := sc.Artifacts().ListForUser(ctx, u.ID, "device"); len(list) != 1 {
		t.Fatalf("ListForUser device: want 1, got %d", len(list))
	}
	if n, _ := sc.Artifacts().DeleteExpired(ctx, now.Add(2*time.Hour)); n != 3 {
		t.Fatalf("DeleteExpired: want 3, got %d", n)
	}
}

func testAppTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustTenant(t, s, "a"), mustTenant(t, s, "b")
	p := mustProvider(t, a, "p", "shared-client-id")
	mustProvider(t, b, "p", "shared-client-id") // client IDs are per tenant
	app := &store.Application{Name: "app", Slug: "app", ProviderID: uuid.NullUUID{UUID: p.ID, Valid: true}}
	noErr(t, "app", a.Applications().Create(ctx, app))
	ua := mustUser(t, a, "u")
	art := &store.Artifact{Kind: "access", KeyHash: hashOf("a-token"), ProviderID: p.ID, Expires: time.Now().Add(time.Hour),
		UserID: uuid.NullUUID{UUID: ua.ID, Valid: true}}
	noErr(t, "artifact", a.Artifacts().Create(ctx, art))
	ret := func(_ any, err error) error { return err }
	// A bulk write names no row: touching none of A's is its not-found.
	countNotFound := func(n int, err error) error {
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"Applications.Get", ret(b.Applications().Get(ctx, app.ID))},
		{"Applications.GetByProvider", ret(b.Applications().GetByProvider(ctx, p.ID))},
		{"Applications.Delete", b.Applications().Delete(ctx, app.ID)},
		{"Applications.Create with A's provider", b.Applications().Create(ctx, &store.Application{Name: "x", Slug: "x", ProviderID: uuid.NullUUID{UUID: p.ID, Valid: true}})},
		{"Providers.Get", ret(b.Providers().Get(ctx, p.ID))},
		{"Providers.Delete", b.Providers().Delete(ctx, p.ID)},
		{"Artifacts.GetByKey", ret(b.Artifacts().GetByKey(ctx, "access", hashOf("a-token")))},
		{"Artifacts.Consume", b.Artifacts().Consume(ctx, art.ID, time.Now())},
		{"Artifacts.SetData", b.Artifacts().SetData(ctx, art.ID, uuid.NullUUID{}, json.RawMessage(`{}`))},
		{"Artifacts.ConsumeForUser", countNotFound(b.Artifacts().ConsumeForUser(ctx, ua.ID, uuid.Nil, time.Now()))},
		{"Artifacts.Create for A's provider", b.Artifacts().Create(ctx, &store.Artifact{Kind: "access", KeyHash: hashOf("b"), ProviderID: p.ID, Expires: time.Now().Add(time.Hour)})},
	} {
		if !errorsIsNotFound(c.err) {
			t.Errorf("tenant B %s on tenant A's row: want ErrNotFound, got %v", c.name, c.err)
		}
	}
	if n, _ := b.Artifacts().ConsumeGrant(ctx, art.GrantID, time.Now()); n != 0 {
		t.Errorf("tenant B revoked A's grant")
	}
	got, err := a.Artifacts().GetByKey(ctx, "access", hashOf("a-token"))
	if err != nil || !got.Usable(time.Now()) {
		t.Errorf("A's token changed by B: %v", err)
	}
	if _, err := a.Applications().Get(ctx, app.ID); err != nil {
		t.Errorf("A's application: %v", err)
	}
}

// testArtifactsConsumeForUser: a password change revokes a user's tokens
// but those of the session it is made in, and nobody else's.
func testArtifactsConsumeForUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	p := mustProvider(t, sc, "p", "c")
	u, other := mustUser(t, sc, "u"), mustUser(t, sc, "other")
	now := time.Now()
	here, there := uuid.New(), uuid.New()
	mk := func(name string, owner *store.User, session uuid.UUID) *store.Artifact {
		a := &store.Artifact{Kind: "refresh", KeyHash: hashOf(name), ProviderID: p.ID, Expires: now.Add(time.Hour),
			UserID: uuid.NullUUID{UUID: owner.ID, Valid: true}, SessionID: uuid.NullUUID{UUID: session, Valid: session != uuid.Nil}}
		noErr(t, "create "+name, sc.Artifacts().Create(ctx, a))
		return a
	}
	kept := mk("kept", u, here)
	gone := []*store.Artifact{mk("other-session", u, there), mk("no-session", u, uuid.Nil)}
	others := mk("someone-else", other, there)
	n, err := sc.Artifacts().ConsumeForUser(ctx, u.ID, here, now)
	noErr(t, "ConsumeForUser", err)
	if n != len(gone) {
		t.Fatalf("ConsumeForUser: want %d revoked, got %d", len(gone), n)
	}
	for _, a := range append(gone, kept, others) {
		got, err := sc.Artifacts().Get(ctx, a.ID)
		noErr(t, "Get", err)
		if want := a != kept && a != others; got.Usable(now) == want {
			t.Errorf("artifact %x: want revoked %v, got usable %v", a.KeyHash[:4], want, got.Usable(now))
		}
	}
	n, err = sc.Artifacts().ConsumeForUser(ctx, u.ID, uuid.Nil, now)
	noErr(t, "ConsumeForUser keeping none", err)
	if n != 1 {
		t.Fatalf("ConsumeForUser keeping none: want the last one revoked, got %d", n)
	}
}
