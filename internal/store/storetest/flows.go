package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func flowTests() []namedTest {
	return []namedTest{
		{"Flows", testFlows},
		{"Objects", testObjects},
		{"Bindings", testBindings},
		{"StageBindingsAcrossFlows", testStageBindingsAcrossFlows},
		{"FlowState", testFlowState},
		{"InvitationUse", testInvitationUse},
		{"Reputation", testReputation},
		{"FlowTenantIsolation", testFlowTenantIsolation},
	}
}

func mustFlow(t *testing.T, sc store.Scope, slug string) *store.Flow {
	t.Helper()
	f := &store.Flow{Slug: slug, Name: slug, Designation: store.DesignationAuthentication}
	noErr(t, "create flow "+slug, sc.Flows().Create(t.Context(), f))
	return f
}

func mustObject(t *testing.T, objs store.Objects, name, kind string) *store.Object {
	t.Helper()
	o := &store.Object{Name: name, Kind: kind, Config: json.RawMessage(`{"a":1}`)}
	noErr(t, "create object "+name, objs.Create(t.Context(), o))
	return o
}

func testFlows(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	f := mustFlow(t, sc, "default-authentication-flow")
	if f.Authentication != "none" || f.DeniedAction != "message_continue" || f.Title != f.Name || f.PolicyEngineMode != "any" {
		t.Fatalf("Create: want Authentik's defaults filled, got %+v", f)
	}
	got, err := sc.Flows().GetBySlug(ctx, "default-authentication-flow")
	noErr(t, "GetBySlug", err)
	if got.ID != f.ID {
		t.Fatalf("GetBySlug: want %v, got %v", f.ID, got.ID)
	}
	wantErr(t, "duplicate slug", sc.Flows().Create(ctx, &store.Flow{Slug: f.Slug, Name: "x", Designation: "enrollment"}), store.ErrConflict)
	bad := &store.Flow{Slug: "Bad Slug", Name: "", Designation: "login", Authentication: "maybe", Layout: "x"}
	err = sc.Flows().Create(ctx, bad)
	for _, field := range []string{"slug", "name", "designation", "authentication", "layout"} {
		wantField(t, "invalid flow", err, field)
	}
	_, err = sc.Flows().UpdateIfVersion(ctx, f.ID, f.Version+1, func(x *store.Flow) error { x.Title = "x"; return nil })
	wantErr(t, "stale version", err, store.ErrConflict)
	up, err := sc.Flows().Update(ctx, f.ID, func(x *store.Flow) error { x.Title = "Welcome"; return nil })
	noErr(t, "Update", err)
	if up.Title != "Welcome" || up.Version != 2 {
		t.Fatalf("Update: want title Welcome version 2, got %q %d", up.Title, up.Version)
	}
	mustFlow(t, sc, "other")
	list, total, err := sc.Flows().List(ctx, store.FlowQuery{Search: "default"})
	noErr(t, "List", err)
	if total != 1 || list[0].ID != f.ID {
		t.Fatalf("List search default: want 1, got %d", total)
	}
}

func testObjects(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	for name, objs := range map[string]store.Objects{"stages": sc.Stages(), "policies": sc.Policies(), "prompts": sc.Prompts(), "property_mappings": sc.PropertyMappings()} {
		a := mustObject(t, objs, name+"-a", "identification")
		mustObject(t, objs, name+"-b", "password")
		wantErr(t, name+" duplicate name", objs.Create(ctx, &store.Object{Name: name + "-a", Kind: "x"}), store.ErrConflict)
		wantField(t, name+" bad json", objs.Create(ctx, &store.Object{Name: "j", Kind: "x", Config: json.RawMessage(`{`)}), "config")
		wantField(t, name+" bad kind", objs.Create(ctx, &store.Object{Name: "k", Kind: "Robert'); DROP TABLE"}), "kind")
		many, err := objs.GetMany(ctx, []uuid.UUID{a.ID, uuid.New()})
		noErr(t, name+" GetMany", err)
		if len(many) != 1 || many[0].ID != a.ID {
			t.Fatalf("%s GetMany: want only %v, got %d", name, a.ID, len(many))
		}
		list, total, err := objs.List(ctx, store.ObjectQuery{Kind: "password"})
		noErr(t, name+" List", err)
		if total != 1 || list[0].Kind != "password" {
			t.Fatalf("%s List by kind: want 1 password, got %d", name, total)
		}
		up, err := objs.Update(ctx, a.ID, func(o *store.Object) error { o.Config = json.RawMessage(`{"a":2}`); return nil })
		noErr(t, name+" Update", err)
		if string(up.Config) != `{"a":2}` || up.Version != 2 {
			t.Fatalf("%s Update: want config {\"a\":2} v2, got %s v%d", name, up.Config, up.Version)
		}
		got, _ := objs.GetByName(ctx, name+"-a")
		var cfg map[string]int
		json.Unmarshal(got.Config, &cfg)
		if cfg["a"] != 2 {
			t.Fatalf("%s GetByName after update: want a=2, got %s", name, got.Config)
		}
		noErr(t, name+" Delete", objs.Delete(ctx, a.ID))
		_, err = objs.Get(ctx, a.ID)
		wantErr(t, name+" Get after Delete", err, store.ErrNotFound)
	}
}

func testBindings(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	f := mustFlow(t, sc, "f")
	st1, st2 := mustObject(t, sc.Stages(), "s1", "identification"), mustObject(t, sc.Stages(), "s2", "password")
	b2 := &store.FlowStageBinding{FlowID: f.ID, StageID: st2.ID, Order: 20, ReEvaluatePolicies: true}
	b1 := &store.FlowStageBinding{FlowID: f.ID, StageID: st1.ID, Order: 10}
	noErr(t, "bind s2", sc.FlowStageBindings().Create(ctx, b2))
	noErr(t, "bind s1", sc.FlowStageBindings().Create(ctx, b1))
	wantField(t, "bad invalid_response_action", sc.FlowStageBindings().Create(ctx, &store.FlowStageBinding{FlowID: f.ID, StageID: st1.ID, InvalidResponseAction: "explode"}), "invalid_response_action")
	wantErr(t, "binding to a missing stage", sc.FlowStageBindings().Create(ctx, &store.FlowStageBinding{FlowID: f.ID, StageID: uuid.New(), Order: 30}), store.ErrNotFound)
	list, err := sc.FlowStageBindings().ListForFlow(ctx, f.ID)
	noErr(t, "ListForFlow", err)
	if len(list) != 2 || list[0].ID != b1.ID || list[0].InvalidResponseAction != "retry" {
		t.Fatalf("ListForFlow: want s1 then s2 with default retry, got %+v", list)
	}
	pol := mustObject(t, sc.Policies(), "p", "expression")
	g := mustGroup(t, sc, "g", nil)
	u := mustUser(t, sc, "u")
	pbs := []*store.PolicyBinding{
		{TargetID: b2.ID, PolicyID: uuid.NullUUID{UUID: pol.ID, Valid: true}, Order: 1, Enabled: true},
		{TargetID: b2.ID, GroupID: uuid.NullUUID{UUID: g.ID, Valid: true}, Order: 0, Enabled: true},
		{TargetID: f.ID, UserID: uuid.NullUUID{UUID: u.ID, Valid: true}, Enabled: true, Negate: true},
	}
	for _, pb := range pbs {
		noErr(t, "create policy binding", sc.PolicyBindings().Create(ctx, pb))
	}
	wantField(t, "binding with two subjects", sc.PolicyBindings().Create(ctx, &store.PolicyBinding{TargetID: f.ID,
		PolicyID: uuid.NullUUID{UUID: pol.ID, Valid: true}, GroupID: uuid.NullUUID{UUID: g.ID, Valid: true}}), "policy")
	got, err := sc.PolicyBindings().ListForTargets(ctx, b2.ID, f.ID)
	noErr(t, "ListForTargets", err)
	if len(got) != 3 || got[0].Timeout != 30*time.Second {
		t.Fatalf("ListForTargets: want 3 with the 30 s default timeout, got %d (%v)", len(got), got[0].Timeout)
	}
	noErr(t, "delete group", sc.Groups().Delete(ctx, g.ID))
	got, _ = sc.PolicyBindings().ListForTargets(ctx, b2.ID)
	if len(got) != 1 {
		t.Fatalf("deleting a group removes its bindings: want 1 left on the stage binding, got %d", len(got))
	}
	noErr(t, "delete flow", sc.Flows().Delete(ctx, f.ID))
	got, _ = sc.PolicyBindings().ListForTargets(ctx, b2.ID, f.ID)
	if len(got) != 0 {
		t.Fatalf("deleting a flow removes the bindings on it and its stage bindings: got %d left", len(got))
	}
	if list, _ := sc.FlowStageBindings().ListForFlow(ctx, f.ID); len(list) != 0 {
		t.Fatalf("stage bindings must go with their flow, got %d", len(list))
	}
	if _, err := sc.Stages().Get(ctx, st1.ID); err != nil {
		t.Fatalf("stages survive the flow: %v", err)
	}
}

func testFlowState(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	now := time.Now()
	inv := &store.Invitation{Name: "welcome", SingleUse: true, FixedData: map[string]any{"email": "a@example.com"}, Expires: now.Add(time.Hour)}
	noErr(t, "create invitation", sc.Invitations().Create(ctx, inv))
	got, err := sc.Invitations().Get(ctx, inv.ID)
	noErr(t, "get invitation", err)
	if got.FixedData["email"] != "a@example.com" || !got.SingleUse {
		t.Fatalf("invitation round trip: got %+v", got)
	}
	noErr(t, "use invitation", sc.Invitations().Delete(ctx, inv.ID))
	wantErr(t, "use invitation twice", sc.Invitations().Delete(ctx, inv.ID), store.ErrNotFound)

	ft := &store.FlowToken{KeyHash: hashOf("link"), FlowSlug: "default-recovery-flow", Plan: []byte(`{"x":1}`), Expires: now.Add(time.Minute)}
	noErr(t, "create flow token", sc.FlowTokens().Create(ctx, ft))
	gt, err := sc.FlowTokens().GetByKeyHash(ctx, hashOf("link"))
	noErr(t, "get flow token", err)
	if string(gt.Plan) != `{"x":1}` {
		t.Fatalf("flow token plan: got %s", gt.Plan)
	}
	if n, _ := sc.FlowTokens().DeleteExpired(ctx, now.Add(2*time.Minute)); n != 1 {
		t.Fatalf("flow token expiry: want 1 deleted, got %d", n)
	}

	u := mustUser(t, sc, "consenter")
	c := &store.Consent{UserID: u.ID, Target: "app-1", Permissions: []string{"openid", "email"}, Expires: now.Add(time.Hour)}
	noErr(t, "Put consent", sc.Consents().Put(ctx, c))
	c2 := &store.Consent{UserID: u.ID, Target: "app-1", Permissions: []string{"openid", "email", "profile"}}
	noErr(t, "replace consent", sc.Consents().Put(ctx, c2))
	gc, err := sc.Consents().Get(ctx, u.ID, "app-1", now)
	noErr(t, "Get consent", err)
	if len(gc.Permissions) != 3 || !gc.Expires.IsZero() {
		t.Fatalf("consent replaced: want 3 permissions, no expiry; got %+v", gc)
	}
	noErr(t, "expiring consent", sc.Consents().Put(ctx, &store.Consent{UserID: u.ID, Target: "app-2", Expires: now.Add(time.Minute)}))
	_, err = sc.Consents().Get(ctx, u.ID, "app-2", now.Add(time.Hour))
	wantErr(t, "expired consent", err, store.ErrNotFound)
	if list, _ := sc.Consents().ListForUser(ctx, u.ID); len(list) != 2 {
		t.Fatalf("ListForUser consents: want 2, got %d", len(list))
	}
}

func testReputation(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	now := time.Now()
	exp := now.Add(24 * time.Hour)
	for range 7 {
		noErr(t, "lower", sc.Reputation().Adjust(ctx, "bob", "192.0.2.1", -1, -5, 5, exp))
	}
	noErr(t, "other ip", sc.Reputation().Adjust(ctx, "bob", "192.0.2.2", -1, -5, 5, exp))
	noErr(t, "other user", sc.Reputation().Adjust(ctx, "eve", "192.0.2.1", 1, -5, 5, exp))
	byID, byIP, err := sc.Reputation().Scores(ctx, "bob", "192.0.2.1", now)
	noErr(t, "Scores", err)
	if byID != -6 || byIP != -4 {
		t.Fatalf("Scores: want bob -6 (clamped -5 plus -1), ip -4 (-5 plus 1), got %d %d", byID, byIP)
	}
	// Each row once: bob's two rows and eve's, not bob's first row twice.
	for _, c := range []struct {
		ident, ip string
		want      int
	}{{"bob", "192.0.2.1", -5}, {"bob", "", -6}, {"", "192.0.2.1", -4}, {"", "", 0}, {"nobody", "198.51.100.1", 0}} {
		got, err := sc.Reputation().Score(ctx, c.ident, c.ip, now)
		noErr(t, "Score", err)
		if got != c.want {
			t.Errorf("Score(%q, %q): want %d, got %d", c.ident, c.ip, c.want, got)
		}
	}
	if n, _ := sc.Reputation().DeleteExpired(ctx, exp.Add(time.Second)); n != 3 {
		t.Fatalf("DeleteExpired: want 3, got %d", n)
	}
}

func testFlowTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustTenant(t, s, "a"), mustTenant(t, s, "b")
	f := mustFlow(t, a, "login")
	st := mustObject(t, a.Stages(), "st", "password")
	pol := mustObject(t, a.Policies(), "pol", "expression")
	pr := mustObject(t, a.Prompts(), "pr", "text")
	fsb := &store.FlowStageBinding{FlowID: f.ID, StageID: st.ID, Order: 1}
	noErr(t, "bind", a.FlowStageBindings().Create(ctx, fsb))
	pb := &store.PolicyBinding{TargetID: f.ID, PolicyID: uuid.NullUUID{UUID: pol.ID, Valid: true}, Enabled: true}
	noErr(t, "policy binding", a.PolicyBindings().Create(ctx, pb))
	inv := &store.Invitation{Name: "inv"}
	noErr(t, "invitation", a.Invitations().Create(ctx, inv))
	ft := &store.FlowToken{KeyHash: hashOf("ft"), FlowSlug: "login", Plan: []byte("{}"), Expires: time.Now().Add(time.Hour)}
	noErr(t, "flow token", a.FlowTokens().Create(ctx, ft))
	ua := mustUser(t, a, "u")
	noErr(t, "consent", a.Consents().Put(ctx, &store.Consent{UserID: ua.ID, Target: "app"}))
	noErr(t, "reputation", a.Reputation().Adjust(ctx, "u", "192.0.2.9", -3, -5, 5, time.Now().Add(time.Hour)))
	fb := mustFlow(t, b, "login") // same slug in another tenant is fine
	stb := mustObject(t, b.Stages(), "st", "password")

	ret := func(_ any, err error) error { return err }
	objNop := func(*store.Object) error { return nil }
	for _, c := range []struct {
		name string
		err  error
	}{
		{"Flows.Get", ret(b.Flows().Get(ctx, f.ID))},
		{"Flows.Update", ret(b.Flows().Update(ctx, f.ID, func(*store.Flow) error { return nil }))},
		{"Flows.Delete", b.Flows().Delete(ctx, f.ID)},
		{"Stages.Get", ret(b.Stages().Get(ctx, st.ID))},
		{"Stages.Update", ret(b.Stages().Update(ctx, st.ID, objNop))},
		{"Stages.Delete", b.Stages().Delete(ctx, st.ID)},
		{"Policies.Get", ret(b.Policies().Get(ctx, pol.ID))},
		{"Policies.Delete", b.Policies().Delete(ctx, pol.ID)},
		{"Prompts.Get", ret(b.Prompts().Get(ctx, pr.ID))},
		{"Prompts.Update", ret(b.Prompts().Update(ctx, pr.ID, objNop))},
		{"FlowStageBindings.Get", ret(b.FlowStageBindings().Get(ctx, fsb.ID))},
		{"FlowStageBindings.Delete", b.FlowStageBindings().Delete(ctx, fsb.ID)},
		{"FlowStageBindings.Create with A's stage", b.FlowStageBindings().Create(ctx, &store.FlowStageBinding{FlowID: fb.ID, StageID: st.ID})},
		{"FlowStageBindings.Create with A's flow", b.FlowStageBindings().Create(ctx, &store.FlowStageBinding{FlowID: f.ID, StageID: stb.ID})},
		{"PolicyBindings.Get", ret(b.PolicyBindings().Get(ctx, pb.ID))},
		{"PolicyBindings.Delete", b.PolicyBindings().Delete(ctx, pb.ID)},
		{"PolicyBindings.Create with A's policy", b.PolicyBindings().Create(ctx, &store.PolicyBinding{TargetID: fb.ID, PolicyID: uuid.NullUUID{UUID: pol.ID, Valid: true}})},
		{"PolicyBindings.Create with A's user", b.PolicyBindings().Create(ctx, &store.PolicyBinding{TargetID: fb.ID, UserID: uuid.NullUUID{UUID: ua.ID, Valid: true}})},
		{"Invitations.Get", ret(b.Invitations().Get(ctx, inv.ID))},
		{"Invitations.Delete", b.Invitations().Delete(ctx, inv.ID)},
		{"Invitations.Use", ret(b.Invitations().Use(ctx, inv.ID, "", time.Now()))},
		{"FlowTokens.GetByKeyHash", ret(b.FlowTokens().GetByKeyHash(ctx, hashOf("ft")))},
		{"FlowTokens.Delete", b.FlowTokens().Delete(ctx, ft.ID)},
		{"Consents.Get", ret(b.Consents().Get(ctx, ua.ID, "app", time.Now()))},
		{"Consents.Put for A's user", b.Consents().Put(ctx, &store.Consent{UserID: ua.ID, Target: "app"})},
	} {
		if !errorsIsNotFound(c.err) {
			t.Errorf("tenant B %s on tenant A's row: want ErrNotFound, got %v", c.name, c.err)
		}
	}
	if l, _ := b.PolicyBindings().ListForTargets(ctx, f.ID); len(l) != 0 {
		t.Errorf("tenant B ListForTargets(A's flow): want none, got %d", len(l))
	}
	if l, _ := b.FlowStageBindings().ListForFlow(ctx, f.ID); len(l) != 0 {
		t.Errorf("tenant B ListForFlow(A's flow): want none, got %d", len(l))
	}
	if l, _ := b.Stages().GetMany(ctx, []uuid.UUID{st.ID}); len(l) != 0 {
		t.Errorf("tenant B Stages.GetMany(A's stage): want none, got %d", len(l))
	}
	if id, ip, _ := b.Reputation().Scores(ctx, "u", "192.0.2.9", time.Now()); id != 0 || ip != 0 {
		t.Errorf("tenant B sees A's reputation: %d %d", id, ip)
	}
	// A intact.
	if _, err := a.Flows().Get(ctx, f.ID); err != nil {
		t.Errorf("A's flow: %v", err)
	}
	if l, _ := a.PolicyBindings().ListForTargets(ctx, f.ID); len(l) != 1 {
		t.Errorf("A's policy bindings: want 1, got %d", len(l))
	}
	if l, _ := a.FlowStageBindings().ListForFlow(ctx, f.ID); len(l) != 1 {
		t.Errorf("A's stage bindings: want 1, got %d", len(l))
	}
	if _, err := a.Invitations().Get(ctx, inv.ID); err != nil {
		t.Errorf("A's invitation: %v", err)
	}
	if _, err := a.Consents().Get(ctx, ua.ID, "app", time.Now()); err != nil {
		t.Errorf("A's consent: %v", err)
	}
}

// testInvitationUse: an invitation is redeemed for its flow only, while it
// has not expired, and a single-use one exactly once however many
// sign-ups race for it (issue 10, finding 5).
func testInvitationUse(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	now := time.Now()
	once := &store.Invitation{Name: "once", FlowSlug: "join", SingleUse: true, Expires: now.Add(time.Hour)}
	noErr(t, "create", sc.Invitations().Create(ctx, once))
	_, err := sc.Invitations().Use(ctx, once.ID, "other-flow", now)
	wantErr(t, "use in another flow", err, store.ErrNotFound)
	_, err = sc.Invitations().Use(ctx, once.ID, "join", now.Add(2*time.Hour))
	wantErr(t, "use after expiry", err, store.ErrNotFound)
	if _, err := sc.Invitations().Get(ctx, once.ID); err != nil {
		t.Fatalf("a refused use must not consume the invitation: %v", err)
	}
	const n = 8
	won := race(t, "racing uses", n, store.ErrNotFound, func(int) error {
		return sc.Tx(ctx, func(tx store.Scope) error {
			_, err := tx.Invitations().Use(ctx, once.ID, "join", now)
			return err
		})
	})
	if won != 1 {
		t.Fatalf("a single-use invitation raced by %d sign-ups: want exactly one success, got %d", n, won)
	}
	_, err = sc.Invitations().Get(ctx, once.ID)
	wantErr(t, "a used single-use invitation is gone", err, store.ErrNotFound)

	many := &store.Invitation{Name: "many", Expires: now.Add(time.Hour)}
	noErr(t, "create multi-use", sc.Invitations().Create(ctx, many))
	for _, slug := range []string{"join", "other-flow"} {
		got, err := sc.Invitations().Use(ctx, many.ID, slug, now)
		noErr(t, "use a multi-use invitation for any flow in "+slug, err)
		if got.ID != many.ID || got.SingleUse {
			t.Fatalf("Use: want the multi-use invitation back, got %+v", got)
		}
	}
	_, err = sc.Invitations().Use(ctx, many.ID, "join", now.Add(time.Hour))
	wantErr(t, "a multi-use invitation at its expiry", err, store.ErrNotFound)
}
