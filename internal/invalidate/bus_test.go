package invalidate_test

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/invalidate"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

// heard records what a subscriber was told.
type heard struct {
	mu      sync.Mutex
	tenants []uuid.UUID
	arrived chan uuid.UUID
}

func listenTo(b *invalidate.Bus, topic invalidate.Topic) *heard {
	h := &heard{arrived: make(chan uuid.UUID, 100)}
	b.Subscribe(topic, func(tenant uuid.UUID) {
		h.mu.Lock()
		h.tenants = append(h.tenants, tenant)
		h.mu.Unlock()
		h.arrived <- tenant
	})
	return h
}

func (h *heard) got() []uuid.UUID {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.tenants)
}

// On one process (SQLite), Publish reaches the topic's subscribers before it
// returns; PublishTx waits for the commit and a rollback announces nothing.
func TestPublishReachesThisProcessAtCommit(t *testing.T) {
	db, sc := sqlitetest.Default(t)
	bus := invalidate.New(db, nil)
	providers, flows := listenTo(bus, invalidate.Providers), listenTo(bus, invalidate.Flows)
	tenant := sc.TenantID()

	if err := bus.Publish(t.Context(), invalidate.Providers, tenant); err != nil {
		t.Fatal(err)
	}
	if got := providers.got(); !slices.Equal(got, []uuid.UUID{tenant}) {
		t.Fatalf("after Publish the providers subscriber heard %v, want [%s]", got, tenant)
	}
	if got := flows.got(); len(got) != 0 {
		t.Fatalf("a providers announcement reached the flows subscriber: %v", got)
	}

	err := sc.Tx(t.Context(), func(tx store.Scope) error {
		if err := tx.Users().Create(t.Context(), &store.User{Username: "alice"}); err != nil {
			return err
		}
		if err := bus.PublishTx(t.Context(), tx, invalidate.Flows); err != nil {
			return err
		}
		if got := flows.got(); len(got) != 0 {
			t.Errorf("PublishTx delivered %v before the commit", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := flows.got(); !slices.Equal(got, []uuid.UUID{tenant}) {
		t.Fatalf("after the commit the flows subscriber heard %v, want [%s]", got, tenant)
	}

	boom := errors.New("boom")
	err = sc.Tx(t.Context(), func(tx store.Scope) error {
		if err := bus.PublishTx(t.Context(), tx, invalidate.Flows); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx = %v, want boom", err)
	}
	if got := flows.got(); len(got) != 1 {
		t.Fatalf("a rolled-back transaction's announcement was delivered: %v", got)
	}
}
