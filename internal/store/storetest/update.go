package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// concurrentWriters is how many updates of one row race in these tests.
// A compare-and-swap update loses only to another writer's success, so a
// store that retries as often as this (sqlstore does) applies them all.
const concurrentWriters = 8

// applyAtOnce starts n updates of one row together and checks that every
// one of them succeeded and left its mark: the row counts n and its
// version moved n times. It returns what went wrong rather than failing
// the test, so that testConcurrentUpdateCheck can show it catches lost
// updates.
func applyAtOnce(n int, update func(i int) error, read func() (count int, version int64, err error)) error {
	_, v0, err := read()
	if err != nil {
		return fmt.Errorf("read the row before: %w", err)
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = update(i)
		})
	}
	close(start)
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d concurrent updates failed, want none: %w", failed, n, errors.Join(errs...))
	}
	count, v1, err := read()
	if err != nil {
		return fmt.Errorf("read the row after: %w", err)
	}
	if count != n || v1 != v0+int64(n) {
		return fmt.Errorf("%d concurrent updates all reported success, but the row counts %d (want %d) at version %d (want %d): updates were lost",
			n, count, n, v1, v0+int64(n))
	}
	return nil
}

// counted is an aggregate whose rows can count: setup creates one and
// returns add (one update adding one to a field, or one item to a list)
// and read (the count and the version).
type counted struct {
	name  string
	setup func(t *testing.T, sc store.Scope) (add func(i int) error, read func() (int, int64, error))
}

// plusOne adds one to a decimal string ("" counts as 0).
func plusOne(s string) string {
	n, _ := strconv.Atoi(s)
	return strconv.Itoa(n + 1)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// configPlusOne adds one to the "n" of a JSON object.
func configPlusOne(raw json.RawMessage) json.RawMessage {
	var c struct{ N int }
	json.Unmarshal(raw, &c)
	out, _ := json.Marshal(map[string]int{"n": c.N + 1})
	return out
}

func configCount(raw json.RawMessage) int {
	var c struct{ N int }
	json.Unmarshal(raw, &c)
	return c.N
}

func attrPlusOne(a store.Attributes) {
	n, _ := a["n"].(float64)
	a["n"] = n + 1
}

func attrCount(a store.Attributes) int {
	n, _ := a["n"].(float64)
	return int(n)
}

// countOn makes the add and read of counted from one row's aggregate:
// update and get are its methods, add edits the row for writer i, count
// reads the count and the version.
func countOn[T any](t *testing.T, id uuid.UUID,
	update func(context.Context, uuid.UUID, func(*T) error) (*T, error), get func(context.Context, uuid.UUID) (*T, error),
	add func(x *T, i int), count func(x *T) (int, int64)) (func(int) error, func() (int, int64, error)) {
	return func(i int) error {
			_, err := update(t.Context(), id, func(x *T) error { add(x, i); return nil })
			return err
		}, func() (int, int64, error) {
			x, err := get(t.Context(), id)
			if err != nil {
				return 0, 0, err
			}
			n, v := count(x)
			return n, v, nil
		}
}

// countedAggregates lists every aggregate with a compare-and-swap Update.
var countedAggregates = []counted{
	{"Users", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		return countOn(t, mustUser(t, sc, "counter").ID, sc.Users().Update, sc.Users().Get,
			func(x *store.User, _ int) { attrPlusOne(x.Attributes) },
			func(x *store.User) (int, int64) { return attrCount(x.Attributes), x.Version })
	}},
	{"Groups", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		return countOn(t, mustGroup(t, sc, "counter", nil).ID, sc.Groups().Update, sc.Groups().Get,
			func(x *store.Group, _ int) { attrPlusOne(x.Attributes) },
			func(x *store.Group) (int, int64) { return attrCount(x.Attributes), x.Version })
	}},
	{"Flows", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		return countOn(t, mustFlow(t, sc, "counter").ID, sc.Flows().Update, sc.Flows().Get,
			func(x *store.Flow, _ int) { x.Title = plusOne(x.Title) },
			func(x *store.Flow) (int, int64) { return atoi(x.Title), x.Version })
	}},
	{"Objects", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		return countOn(t, mustObject(t, sc.Stages(), "counter", "dummy").ID, sc.Stages().Update, sc.Stages().Get,
			func(x *store.Object, _ int) { x.Config = configPlusOne(x.Config) },
			func(x *store.Object) (int, int64) { return configCount(x.Config), x.Version })
	}},
	{"FlowStageBindings", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		b := &store.FlowStageBinding{FlowID: mustFlow(t, sc, "f").ID, StageID: mustObject(t, sc.Stages(), "s", "dummy").ID}
		noErr(t, "create stage binding", sc.FlowStageBindings().Create(t.Context(), b))
		return countOn(t, b.ID, sc.FlowStageBindings().Update, sc.FlowStageBindings().Get,
			func(x *store.FlowStageBinding, _ int) { x.Order++ },
			func(x *store.FlowStageBinding) (int, int64) { return x.Order, x.Version })
	}},
	{"PolicyBindings", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		b := &store.PolicyBinding{TargetID: mustFlow(t, sc, "f").ID, Enabled: true,
			PolicyID: uuid.NullUUID{UUID: mustObject(t, sc.Policies(), "p", "dummy").ID, Valid: true}}
		noErr(t, "create policy binding", sc.PolicyBindings().Create(t.Context(), b))
		return countOn(t, b.ID, sc.PolicyBindings().Update, sc.PolicyBindings().Get,
			func(x *store.PolicyBinding, _ int) { x.Order++ },
			func(x *store.PolicyBinding) (int, int64) { return x.Order, x.Version })
	}},
	{"Applications", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		a := &store.Application{Name: "counter", Slug: "counter"}
		noErr(t, "create application", sc.Applications().Create(t.Context(), a))
		return countOn(t, a.ID, sc.Applications().Update, sc.Applications().Get,
			func(x *store.Application, _ int) { x.Description = plusOne(x.Description) },
			func(x *store.Application) (int, int64) { return atoi(x.Description), x.Version })
	}},
	{"Providers", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		return countOn(t, mustProvider(t, sc, "counter", "counter").ID, sc.Providers().Update, sc.Providers().Get,
			func(x *store.Provider, _ int) { x.Config = configPlusOne(x.Config) },
			func(x *store.Provider) (int, int64) { return configCount(x.Config), x.Version })
	}},
	{"CertificateKeyPairs", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		k := mustKeyPair(t, sc, newKeyPair(t, "0", "counter"))
		return countOn(t, k.ID, sc.CertificateKeyPairs().Update, sc.CertificateKeyPairs().Get,
			func(x *store.CertificateKeyPair, _ int) { x.Name = plusOne(x.Name) },
			func(x *store.CertificateKeyPair) (int, int64) { return atoi(x.Name), x.Version })
	}},
	{"NotificationTransports", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		tr := mustTransport(t, sc, "counter", store.TransportEmail, "")
		return countOn(t, tr.ID, sc.NotificationTransports().Update, sc.NotificationTransports().Get,
			func(x *store.NotificationTransport, _ int) { x.EmailSubjectPrefix = plusOne(x.EmailSubjectPrefix) },
			func(x *store.NotificationTransport) (int, int64) { return atoi(x.EmailSubjectPrefix), x.Version })
	}},
	// Rules append: each writer links one more transport, so a lost
	// update shows as a missing link (they are written after the row).
	{"NotificationRules", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		var transports []uuid.UUID
		for i := range concurrentWriters {
			transports = append(transports, mustTransport(t, sc, fmt.Sprintf("t%d", i), store.TransportEmail, "").ID)
		}
		return countOn(t, mustRule(t, sc, "counter", nil).ID, sc.NotificationRules().Update, sc.NotificationRules().Get,
			func(x *store.NotificationRule, i int) { x.TransportIDs = append(x.TransportIDs, transports[i]) },
			func(x *store.NotificationRule) (int, int64) { return len(x.TransportIDs), x.Version })
	}},
}

// testConcurrentUpdates: updates of one row that race all apply, on every
// aggregate with a compare-and-swap Update. The old test of users let
// every update fail with ErrConflict and still passed.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	for _, a := range countedAggregates {
		t.Run(a.name, func(t *testing.T) {
			add, read := a.setup(t, mustTenant(t, s, "t"))
			if err := applyAtOnce(concurrentWriters, add, read); err != nil {
				t.Fatalf("%s: %v", a.name, err)
			}
		})
	}
}

// testConcurrentUpdateCheck shows that applyAtOnce fails a store that
// loses updates or refuses them. The lossy writers read the row, wait
// until all have read, then each writes what it read plus one: every
// write succeeds and all but one are lost, as with an update that does
// not compare versions.
func testConcurrentUpdateCheck(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	u := mustUser(t, sc, "counter")
	read := func() (int, int64, error) {
		x, err := sc.Users().Get(ctx, u.ID)
		if err != nil {
			return 0, 0, err
		}
		return attrCount(x.Attributes), x.Version, nil
	}
	var allRead sync.WaitGroup
	allRead.Add(concurrentWriters)
	lossy := func(int) error {
		seen, _, err := read()
		allRead.Done()
		allRead.Wait()
		if err != nil {
			return err
		}
		_, err = sc.Users().Update(ctx, u.ID, func(x *store.User) error { x.Attributes["n"] = float64(seen + 1); return nil })
		return err
	}
	if err := applyAtOnce(concurrentWriters, lossy, read); err == nil {
		t.Fatal("updates computed from a stale read were lost, yet the check passed")
	}
	refused := func(int) error { return store.ErrConflict }
	if err := applyAtOnce(concurrentWriters, refused, read); err == nil {
		t.Fatal("every update failed with a conflict, yet the check passed")
	}
}
