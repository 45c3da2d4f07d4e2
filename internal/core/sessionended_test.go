package core_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestSetPasswordTellsOfEndedSessions: SetPassword tells SessionEnded of
// every session it ends, not of the one it keeps, inside the transaction
// that stores the password, so what the hook writes there (the
// back-channel logouts it queues) is stored with the password, and
// rolled back with it.
func TestSetPasswordTellsOfEndedSessions(t *testing.T) {
	e := setup(t, cheap)
	ctx := t.Context()
	u := e.newUser(t, "alice", "first password")
	session := func(sc store.Scope) uuid.UUID {
		id := uuid.New()
		h := sha256.Sum256(id[:])
		s := &store.Session{KeyHash: h[:], UserID: uuid.NullUUID{UUID: u.ID, Valid: true}, Expires: time.Now().Add(time.Hour)}
		if err := sc.Sessions().Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	keep, a, b := session(e.sc), session(e.sc), session(e.sc)
	var told []uuid.UUID
	e.c.SessionEnded = func(ctx context.Context, tx store.Scope, ended store.Session) {
		told = append(told, ended.ID)
		// A write of the hook's own, standing for the jobs it queues.
		h := sha256.Sum256(ended.ID[:])
		if err := tx.Sessions().Create(ctx, &store.Session{KeyHash: h[:], ID: uuid.NewSHA1(uuid.Nil, ended.ID[:])}); err != nil {
			t.Errorf("the hook's write: %v", err)
		}
	}
	hookWrote := func(id uuid.UUID) bool {
		_, err := e.sc.Sessions().Get(ctx, uuid.NewSHA1(uuid.Nil, id[:]))
		return err == nil
	}

	boom := errors.New("boom")
	err := e.sc.Tx(ctx, func(tx store.Scope) error {
		if err := e.c.SetPassword(ctx, tx, u.ID, "second password", core.PasswordWrite{Session: keep}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("SetPassword in a transaction that fails: want %v, got %v", boom, err)
	}
	if _, err := e.sc.Sessions().Get(ctx, a); err != nil || hookWrote(a) || hookWrote(b) {
		t.Fatalf("after the rollback: session kept (%v), the hook's writes gone (%v, %v); want the session and none",
			err, hookWrote(a), hookWrote(b))
	}

	told = nil
	if err := e.c.SetPassword(ctx, e.sc, u.ID, "second password", core.PasswordWrite{Session: keep}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(told, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	want := []uuid.UUID{a, b}
	slices.SortFunc(want, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	if !slices.Equal(told, want) || !hookWrote(a) || !hookWrote(b) || hookWrote(keep) {
		t.Fatalf("SessionEnded heard of %v, want the two ended sessions %v (not the kept %v), its writes committed", told, want, keep)
	}
}
