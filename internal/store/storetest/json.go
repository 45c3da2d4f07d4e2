package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// nested returns a value nested depth levels deep, the value counted:
// nested(2) is {"n": [1]}.
func nested(depth int) any {
	var v any = []any{1}
	for i := 1; i < depth; i++ {
		if i%2 == 1 {
			v = map[string]any{"n": v}
		} else {
			v = []any{v}
		}
	}
	return v
}

// testStoredJSONLimits: every free-form JSON field refuses values nested
// deeper than store.MaxJSONDepth, naming the field and storing nothing,
// and accepts them at the limit.
func testStoredJSONLimits(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	tooDeep, atLimit := nested(store.MaxJSONDepth+1), nested(store.MaxJSONDepth-1) // inside an attributes object
	u := mustUser(t, sc, "deep")
	_, err := sc.Users().Update(ctx, u.ID, func(x *store.User) error { x.Attributes = store.Attributes{"a": tooDeep}; return nil })
	wantField(t, "user attributes", err, "attributes")
	if got, _ := sc.Users().Get(ctx, u.ID); len(got.Attributes) != 0 || got.Version != u.Version {
		t.Fatalf("a refused update must change nothing, got %+v", got)
	}
	_, err = sc.Users().Update(ctx, u.ID, func(x *store.User) error { x.Attributes = store.Attributes{"a": atLimit}; return nil })
	noErr(t, "attributes at the limit", err)

	wantField(t, "group attributes", sc.Groups().Create(ctx, &store.Group{Name: "g", Attributes: store.Attributes{"a": tooDeep}}), "attributes")
	wantField(t, "invitation data", sc.Invitations().Create(ctx, &store.Invitation{Name: "inv", FixedData: map[string]any{"a": tooDeep}}), "fixed_data")
	wantField(t, "event context", sc.Events().Create(ctx, &store.Event{Action: "custom_x", Context: map[string]any{"a": tooDeep}}), "context")
	deepConfig, _ := json.Marshal(map[string]any{"a": tooDeep})
	wantField(t, "policy config", sc.Policies().Create(ctx, &store.Object{Name: "p", Kind: "dummy", Config: deepConfig}), "config")
	wantField(t, "provider config", sc.Providers().Create(ctx, &store.Provider{Name: "p", Kind: "oauth2", Config: deepConfig}), "config")
	rule := &store.NotificationRule{Name: "r", Severity: "notice"}
	noErr(t, "rule", sc.NotificationRules().Create(ctx, rule))
	wantField(t, "notification event", sc.Notifications().Create(ctx, &store.Notification{ID: uuid.New(), UserID: u.ID, RuleID: rule.ID,
		EventID: uuid.New(), Severity: "notice", Event: map[string]any{"context": map[string]any{"a": tooDeep}},
		Expires: time.Now().Add(time.Hour)}), "event")
	n, _, err := sc.Events().List(ctx, store.EventQuery{})
	noErr(t, "List events", err)
	if len(n) != 0 {
		t.Fatalf("a refused event must not be stored, got %d", len(n))
	}
}
