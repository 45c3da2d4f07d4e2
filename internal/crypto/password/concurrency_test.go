package password

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// instrument replaces h's argon2id with a stand-in that takes a millisecond
// of bubble time and records the most derivations ever in flight at once.
func instrument(h *Hasher) (maxInFlight func() int64) {
	var inFlight, peak atomic.Int64
	h.argon2id = func(pw, salt []byte, time_, memory uint32, threads uint8, keyLen uint32) []byte {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		key := make([]byte, keyLen)
		copy(key, pw)
		return key
	}
	return peak.Load
}

func TestConcurrentWorkNeverExceedsTheBound(t *testing.T) {
	for _, limit := range []int{1, 3} {
		synctest.Test(t, func(t *testing.T) {
			h := NewHasher(cheap, limit)
			maxInFlight := instrument(h)
			encoded, err := h.Hash(t.Context(), "pw")
			if err != nil {
				t.Fatal(err)
			}

			// Hash, Verify and Dummy share one bound.
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() { h.Hash(t.Context(), "pw") })
				wg.Go(func() {
					if ok, _, err := h.Verify(t.Context(), "pw", encoded); !ok || err != nil {
						t.Errorf("Verify = %v, %v; want true, nil", ok, err)
					}
				})
				wg.Go(func() { h.Dummy(t.Context(), "pw") })
			}
			wg.Wait()

			// Equality, not just <=: 24 callers against `limit` slots must
			// fill them all, or the test would pass with no concurrency at all.
			if got := maxInFlight(); got != int64(limit) {
				t.Errorf("with maxConcurrent %d, %d derivations ran at once; want exactly %d", limit, got, limit)
			}
		})
	}
}

func TestCancelWhileWaitingForASlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHasher(cheap, 1)
		encoded, err := h.Hash(t.Context(), "pw")
		if err != nil {
			t.Fatal(err)
		}
		entered, unblock := make(chan struct{}), make(chan struct{})
		var derivations atomic.Int64
		h.argon2id = func(pw, salt []byte, _, _ uint32, _ uint8, keyLen uint32) []byte {
			if derivations.Add(1) == 1 {
				close(entered)
				<-unblock
			}
			return make([]byte, keyLen)
		}
		go h.Hash(context.Background(), "holds the only slot")
		<-entered

		ctx, cancel := context.WithCancel(t.Context())
		hashErr, verifyErr, dummyDone := make(chan error), make(chan error), make(chan struct{})
		go func() { _, err := h.Hash(ctx, "pw"); hashErr <- err }()
		go func() { _, _, err := h.Verify(ctx, "pw", encoded); verifyErr <- err }()
		go func() { h.Dummy(ctx, "pw"); close(dummyDone) }()
		synctest.Wait() // all three are now blocked on the semaphore
		cancel()
		if err := <-hashErr; !errors.Is(err, context.Canceled) {
			t.Errorf("Hash while waiting, then cancelled = %v; want context.Canceled", err)
		}
		if err := <-verifyErr; !errors.Is(err, context.Canceled) {
			t.Errorf("Verify while waiting, then cancelled = %v; want context.Canceled", err)
		}
		<-dummyDone
		if got := derivations.Load(); got != 1 {
			t.Errorf("%d derivations ran; want 1: cancelled callers must not hash", got)
		}
		close(unblock)

		// An already-cancelled context gets no slot even when one is free.
		synctest.Wait()
		if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
			t.Errorf("Hash(cancelled ctx) = %v; want context.Canceled", err)
		}
	})
}
