package storetest

import (
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

// countedAggregates lists every aggregate with a compare-and-swap Update.
var countedAggregates = []counted{
	{"Users", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		u := mustUser(t, sc, "counter")
		return func(int) error {
				_, err := sc.Users().Update(t.Context(), u.ID, func(x *store.User) error { attrPlusOne(x.Attributes); return nil })
				return err
			}, func() (int, int64, error) {
				x, err := sc.Users().Get(t.Context(), u.ID)
				if err != nil {
					return 0, 0, err
				}
				return attrCount(x.Attributes), x.Version, nil
			}
	}},
	{"Groups", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		g := mustGroup(t, sc, "counter", nil)
		return func(int) error {
				_, err := sc.Groups().Update(t.Context(), g.ID, func(x *store.Group) error { attrPlusOne(x.Attributes); return nil })
				return err
			}, func() (int, int64, error) {
				x, err := sc.Groups().Get(t.Context(), g.ID)
				if err != nil {
					return 0, 0, err
				}
				return attrCount(x.Attributes), x.Version, nil
			}
	}},
	{"Flows", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		f := mustFlow(t, sc, "counter")
		return func(int) error {
				_, err := sc.Flows().Update(t.Context(), f.ID, func(x *store.Flow) error { x.Title = plusOne(x.Title); return nil })
				return err
			}, func() (int, int64, error) {
				x, err := sc.Flows().Get(t.Context(), f.ID)
				if err != nil {
					return 0, 0, err
				}
				return atoi(x.Title), x.Version, nil
			}
	}},
	{"Objects", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		o := mustObject(t, sc.Stages(), "counter", "dummy")
		return func(int) error {
				_, err := sc.Stages().Update(t.Context(), o.ID, func(x *store.Object) error { x.Config = configPlusOne(x.Config); return nil })
				return err
			}, func() (int, int64, error) {
				x, err := sc.Stages().Get(t.Context(), o.ID)
				if err != nil {
					return 0, 0, err
				}
				return configCount(x.Config), x.Version, nil
			}
	}},
	{"FlowStageBindings", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		b := &store.FlowStageBinding{FlowID: mustFlow(t, sc, "f").ID, StageID: mustObject(t, sc.Stages(), "s", "dummy").ID}
		noErr(t, "create stage binding", sc.FlowStageBindings().Create(t.Context(), b))
		return func(int) error {
				_, err := sc.FlowStageBindings().Update(t.Context(), b.ID, func(x *store.FlowStageBinding) error { x.Order++; return nil })
				return err
			}, func() (int, int64, error) {
				x, err := sc.FlowStageBindings().Get(t.Context(), b.ID)
				if err != nil {
					return 0, 0, err
				}
				return x.Order, x.Version, nil
			}
	}},
	{"PolicyBindings", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		b := &store.PolicyBinding{TargetID: mustFlow(t, sc, "f").ID, Enabled: true,
			PolicyID: uuid.NullUUID{UUID: mustObject(t, sc.Policies(), "p", "dummy").ID, Valid: true}}
		noErr(t, "create policy binding", sc.PolicyBindings().Create(t.Context(), b))
		return func(int) error {
				_, err := sc.PolicyBindings().Update(t.Context(), b.ID, func(x *store.PolicyBinding) error { x.Order++; return nil })
				return err
			}, func() (int, int64, error) {
				x, err := sc.PolicyBindings().Get(t.Context(), b.ID)
				if err != nil {
					return 0, 0, err
				}
				return x.Order, x.Version, nil
			}
	}},
	{"Applications", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		a := &store.Application{Name: "counter", Slug: "counter"}
		noErr(t, "create application", sc.Applications().Create(t.Context(), a))
		return func(int) error {
				_, err := sc.Applications().Update(t.Context(), a.ID, func(x *store.Application) error {
					x.Description = plusOne(x.Description)
					return nil
				})
				return err
			}, func() (int, int64, error) {
				x, err := sc.Applications().Get(t.Context(), a.ID)
				if err != nil {
					return 0, 0, err
				}
				return atoi(x.Description), x.Version, nil
			}
	}},
	{"Providers", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		p := mustProvider(t, sc, "counter", "counter")
		return func(int) error {
				_, err := sc.Providers().Update(t.Context(), p.ID, func(x *store.Provider) error { x.Config = configPlusOne(x.Config); return nil })
				return err
			}, func() (int, int64, error) {
				x, err := sc.Providers().Get(t.Context(), p.ID)
				if err != nil {
					return 0, 0, err
				}
				return configCount(x.Config), x.Version, nil
			}
	}},
	{"CertificateKeyPairs", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		k := mustKeyPair(t, sc, newKeyPair(t, "0", "counter"))
		return func(int) error {
				_, err := sc.CertificateKeyPairs().Update(t.Context(), k.ID, func(x *store.CertificateKeyPair) error {
					x.Name = plusOne(x.Name)
					return nil
				})
				return err
			}, func() (int, int64, error) {
				x, err := sc.CertificateKeyPairs().Get(t.Context(), k.ID)
				if err != nil {
					return 0, 0, err
				}
				return atoi(x.Name), x.Version, nil
			}
	}},
	{"NotificationTransports", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		tr := mustTransport(t, sc, "counter", store.TransportEmail, "")
		return func(int) error {
				_, err := sc.NotificationTransports().Update(t.Context(), tr.ID, func(x *store.NotificationTransport) error {
					x.EmailSubjectPrefix = plusOne(x.EmailSubjectPrefix)
					return nil
				})
				return err
			}, func() (int, int64, error) {
				x, err := sc.NotificationTransports().Get(t.Context(), tr.ID)
				if err != nil {
					return 0, 0, err
				}
				return atoi(x.EmailSubjectPrefix), x.Version, nil
			}
	}},
	// Rules append: each writer links one more transport, so a lost
	// update shows as a missing link (they are written after the row).
	{"NotificationRules", func(t *testing.T, sc store.Scope) (func(int) error, func() (int, int64, error)) {
		r := mustRule(t, sc, "counter", nil)
		var transports []uuid.UUID
		for i := range concurrentWriters {
			transports = append(transports, mustTransport(t, sc, fmt.Sprintf("t%d", i), store.TransportEmail, "").ID)
		}
		return func(i int) error {
				_, err := sc.NotificationRules().Update(t.Context(), r.ID, func(x *store.NotificationRule) error {
					x.TransportIDs = append(x.TransportIDs, transports[i])
					return nil
				})
				return err
			}, func() (int, int64, error) {
				x, err := sc.NotificationRules().Get(t.Context(), r.ID)
				if err != nil {
					return 0, 0, err
				}
				return len(x.TransportIDs), x.Version, nil
			}
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
