package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestBurstThenRefill(t *testing.T) {
	l := New(1.0/6, 3, 100) // 10 a minute, 3 at once
	for k := range 3 {
		if ok, _ := l.AllowN("ip", at(0), 1); !ok {
			t.Fatalf("attempt %d of a burst of 3 refused", k+1)
		}
	}
	ok, retry := l.AllowN("ip", at(0), 1)
	if ok || retry != 6*time.Second {
		t.Fatalf("4th attempt = %v, retry after %v; want refused, retry after 6s", ok, retry)
	}
	if ok, retry := l.AllowN("ip", at(5*time.Second), 1); ok || retry != time.Second {
		t.Errorf("at 5s = %v, retry after %v; want refused, retry after 1s", ok, retry)
	}
	if ok, _ := l.AllowN("ip", at(6*time.Second), 1); !ok {
		t.Errorf("at 6s refused, want one token earned")
	}
	if ok, _ := l.AllowN("ip", at(6*time.Second), 1); ok {
		t.Errorf("second attempt at 6s allowed, want only one token earned")
	}
	// After a long pause the bucket is full again, but not fuller.
	for k := range 3 {
		if ok, _ := l.AllowN("ip", at(time.Hour), 1); !ok {
			t.Errorf("after an hour, attempt %d refused", k+1)
		}
	}
	if ok, _ := l.AllowN("ip", at(time.Hour), 1); ok {
		t.Errorf("after an hour, a 4th attempt allowed: the bucket holds only 3")
	}
}

func TestRefusedRequestsTakeNothing(t *testing.T) {
	l := New(1, 1, 10)
	l.AllowN("k", at(0), 1)
	for range 100 { // hammering while refused must not push the next token back
		l.AllowN("k", at(500*time.Millisecond), 1)
	}
	if ok, _ := l.AllowN("k", at(time.Second), 1); !ok {
		t.Errorf("refused at 1s after refused retries; want the token earned at 1s")
	}
}

func TestAllowN(t *testing.T) {
	l := New(2, 4, 10) // a token every 500ms
	for _, tc := range []struct {
		name  string
		when  time.Duration
		n     int
		ok    bool
		retry time.Duration
	}{
		{"three of four", 0, 3, true, 0},
		{"two more than are left", 0, 2, false, 500 * time.Millisecond},
		{"the last one", 0, 1, true, 0},
		{"zero is free", 0, 0, true, 0},
		{"negative is free", 0, -1, true, 0},
		{"more than the burst, ever", time.Hour, 5, false, Never},
		{"two after a second", time.Second, 2, true, 0},
	} {
		ok, retry := l.AllowN("k", at(tc.when), tc.n)
		if ok != tc.ok || retry != tc.retry {
			t.Errorf("%s: AllowN(n=%d at %v) = %v, %v; want %v, %v", tc.name, tc.n, tc.when, ok, retry, tc.ok, tc.retry)
		}
	}
}

func TestKeysAreIndependentAndResettable(t *testing.T) {
	l := New(1.0/60, 2, 100)
	for range 2 {
		l.AllowN("alice", at(0), 1)
	}
	if ok, _ := l.AllowN("alice", at(0), 1); ok {
		t.Fatal("alice's third attempt allowed, want refused")
	}
	if ok, _ := l.AllowN("bob", at(0), 1); !ok {
		t.Error("bob refused because of alice")
	}
	l.Reset("alice")
	l.Reset("nobody") // resetting an unknown key is harmless
	for k := range 2 {
		if ok, _ := l.AllowN("alice", at(0), 1); !ok {
			t.Errorf("after Reset, alice's attempt %d refused", k+1)
		}
	}
	if got := l.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2 (alice, bob)", got)
	}
}

func TestMemoryIsBoundedByMaxKeys(t *testing.T) {
	for _, maxKeys := range []int{1, 3, 64, 1000, 5000} {
		l := New(1.0/60, 5, maxKeys)
		for k := range 20_000 {
			l.AllowN("key-"+strconv.Itoa(k), at(time.Duration(k)*time.Millisecond), 1)
		}
		if got := l.Len(); got > maxKeys || got == 0 {
			t.Errorf("maxKeys %d: Len() = %d after 20,000 keys", maxKeys, got)
		}
		checkHeaps(t, l)
	}
}

func TestMemoryStaysFlatUnderAFlood(t *testing.T) {
	l := New(10, 10, 10_000)
	flood := func(from int) {
		for k := from; k < from+300_000; k++ {
			l.AllowN("203.0.113."+strconv.Itoa(k), at(0), 1)
		}
	}
	flood(0) // reach capacity
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	flood(1_000_000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if l.Len() != 10_000 {
		t.Errorf("Len() = %d, want 10000", l.Len())
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Errorf("heap grew by %d bytes over 300,000 more keys at capacity, want under 1 MiB", grew)
	}
}

func TestEvictionSparesTheMostThrottledKeys(t *testing.T) {
	l := New(1.0/60, 3, 3) // one shard of three buckets
	for range 3 {
		l.AllowN("victim", at(0), 1) // empty: full again in 3 minutes
	}
	l.AllowN("a", at(0), 1) // full again in 1 minute
	l.AllowN("b", at(0), 1)
	for k := range 100 { // a flood of new keys while everything is throttled
		l.AllowN("flood-"+strconv.Itoa(k), at(time.Second), 1)
	}
	if ok, _ := l.AllowN("victim", at(2*time.Second), 1); ok {
		t.Error("victim's empty bucket was forgotten under a flood; want the fuller buckets evicted first")
	}
}

func TestIdleBucketsAreReused(t *testing.T) {
	l := New(1, 1, 127) // one shard, with room for 127
	for k := range 100 {
		l.AllowN("old-"+strconv.Itoa(k), at(0), 1)
	}
	// A second later every old bucket is full again: new keys take their
	// place instead of growing the table.
	for k := range 100 {
		l.AllowN("new-"+strconv.Itoa(k), at(time.Minute), 1)
	}
	if got := l.Len(); got != 100 {
		t.Errorf("Len() = %d, want 100: idle buckets reused, not 127", got)
	}
}

// TestMatchesAReferenceModel drives the limiter and a plain map-based GCRA
// with the same random operations and expects the same answers.
func TestMatchesAReferenceModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	l := New(0.5, 3, 1000)
	model := map[string]time.Duration{} // key → tat since t0
	now := time.Duration(0)
	for step := range 20_000 {
		now += time.Duration(rng.IntN(800)) * time.Millisecond
		key := "k" + strconv.Itoa(rng.IntN(20))
		if rng.IntN(50) == 0 {
			l.Reset(key)
			delete(model, key)
			continue
		}
		n := 1 + rng.IntN(3)
		tat := max(model[key], now)
		newTat := tat + time.Duration(n)*2*time.Second
		wantOK := now >= newTat-6*time.Second
		wantRetry := time.Duration(0)
		if wantOK {
			model[key] = newTat
		} else {
			wantRetry = newTat - 6*time.Second - now
		}
		ok, retry := l.AllowN(key, at(now), n)
		if ok != wantOK || retry != wantRetry {
			t.Fatalf("step %d: AllowN(%s, %v, %d) = %v, %v; model says %v, %v", step, key, now, n, ok, retry, wantOK, wantRetry)
		}
	}
	checkHeaps(t, l)
}

func TestConcurrentUseGrantsExactlyTheBurst(t *testing.T) {
	l := New(1, 50, 1000)
	var granted atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 200 {
				if ok, _ := l.AllowN("hot", at(0), 1); ok {
					granted.Add(1)
				}
				l.AllowN(fmt.Sprintf("cold-%d-%d", g, k), at(0), 1)
				if k%50 == 0 {
					l.Reset(fmt.Sprintf("cold-%d-%d", g, k-1))
				}
			}
		}()
	}
	wg.Wait()
	if got := granted.Load(); got != 50 {
		t.Errorf("granted %d attempts on one key from 8 goroutines, want exactly the burst of 50", got)
	}
	checkHeaps(t, l)
}

func TestNilLimiterAllowsEverything(t *testing.T) {
	var l *Limiter
	if !l.Allow("x") || l.Len() != 0 {
		t.Error("a nil Limiter refused or remembered something")
	}
	l.Reset("x")
}

func TestNewRejectsNonsense(t *testing.T) {
	for _, tc := range []struct {
		rate         float64
		burst, limit int
	}{{0, 1, 1}, {-1, 1, 1}, {1, 0, 1}, {1, 1, 0}, {1e-12, 10, 10}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%v, %d, %d) did not panic", tc.rate, tc.burst, tc.limit)
				}
			}()
			New(tc.rate, tc.burst, tc.limit)
		}()
	}
}

func TestAllowUsesTheClock(t *testing.T) {
	l := New(1e-3, 1, 10) // one token per 1000 s: the second call cannot refill
	if !l.Allow("x") || l.Allow("x") {
		t.Error("Allow with burst 1: want allowed then refused")
	}
}

// checkHeaps verifies every shard's map and heap agree and the heap is ordered.
func checkHeaps(t *testing.T, l *Limiter) {
	t.Helper()
	total := 0
	for k := range l.shards {
		s := &l.shards[k]
		s.mu.Lock()
		if len(s.heap) != len(s.buckets) || len(s.heap) > s.max {
			t.Errorf("shard %d: %d in heap, %d in map, max %d", k, len(s.heap), len(s.buckets), s.max)
		}
		for i, b := range s.heap {
			if b.idx != i || s.buckets[b.key] != b {
				t.Errorf("shard %d: bucket at %d has idx %d or is not in the map", k, i, b.idx)
			}
			if i > 0 && s.heap[(i-1)/2].tat > b.tat {
				t.Errorf("shard %d: heap order broken at %d", k, i)
			}
		}
		total += s.max
		s.mu.Unlock()
	}
	if total < 1 {
		t.Errorf("shards hold %d keys in all", total)
	}
}

func BenchmarkAllowHotKey(b *testing.B) {
	l := New(1e6, 1_000_000, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		l.Allow("198.51.100.7")
	}
}

func BenchmarkAllowHotKeyParallel(b *testing.B) {
	l := New(1e6, 1_000_000, 100_000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow("198.51.100.7")
		}
	})
}

// BenchmarkAllowDistinctKeys cycles through 1M distinct keys with room
// for 100k, so most calls create a bucket by evicting another.
func BenchmarkAllowDistinctKeys(b *testing.B) {
	keys := make([]string, 1_000_000)
	for k := range keys {
		keys[k] = "user-" + strconv.Itoa(k)
	}
	l := New(10.0/60, 10, 100_000)
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		l.Allow(keys[k])
		if k++; k == len(keys) {
			k = 0
		}
	}
	if l.Len() > 100_000 {
		b.Fatalf("Len() = %d, want at most 100000", l.Len())
	}
}

func TestWaitTakesNothing(t *testing.T) {
	l := New(1, 2, 10) // a token a second, 2 at once
	if w := l.Wait("k", at(0)); w != 0 {
		t.Fatalf("an unknown key: Wait = %v, want 0", w)
	}
	for range 5 {
		l.Wait("k", at(0))
	}
	for k := range 2 {
		if ok, _ := l.AllowN("k", at(0), 1); !ok {
			t.Fatalf("attempt %d of 2 refused after Wait calls: Wait must take nothing", k+1)
		}
	}
	_, retry := l.AllowN("k", at(0), 1)
	if w := l.Wait("k", at(0)); w != retry || w != time.Second {
		t.Fatalf("an empty bucket: Wait = %v, AllowN's retry = %v; want both 1s", w, retry)
	}
	if w := l.Wait("k", at(400*time.Millisecond)); w != 600*time.Millisecond {
		t.Fatalf("0.4s later: Wait = %v, want 600ms", w)
	}
}

func TestReturnGivesBackOneToken(t *testing.T) {
	l := New(1.0/60, 3, 10) // a token a minute, 3 at once
	for range 3 {
		l.AllowN("k", at(0), 1)
	}
	l.Return("k", at(0))
	if ok, _ := l.AllowN("k", at(0), 1); !ok {
		t.Fatalf("after Return: want one token back")
	}
	if ok, _ := l.AllowN("k", at(0), 1); ok {
		t.Fatalf("after Return: want exactly one token back")
	}
	// Returning more than was taken fills the bucket, not beyond.
	for range 10 {
		l.Return("k", at(0))
	}
	for k := range 3 {
		if ok, _ := l.AllowN("k", at(0), 1); !ok {
			t.Fatalf("attempt %d after many returns refused", k+1)
		}
	}
	if ok, _ := l.AllowN("k", at(0), 1); ok {
		t.Fatalf("a 4th attempt allowed: returns must not overfill the burst of 3")
	}
	l.Return("unknown", at(0)) // nothing to return: no effect, no panic
	if n := l.Len(); n != 1 {
		t.Fatalf("Len = %d after returning to an unknown key, want 1", n)
	}
}

func TestAllowAllTakesFromAllOrNone(t *testing.T) {
	ip, account := New(1, 5, 10), New(1, 2, 10)
	both := []Budget{{ip, "10.0.0.1"}, {account, "alice"}}
	for k := range 2 {
		if ok, _ := AllowAll(at(0), both...); !ok {
			t.Fatalf("attempt %d: want allowed while both budgets hold tokens", k+1)
		}
	}
	ok, wait := AllowAll(at(0), both...)
	if ok || wait != time.Second {
		t.Fatalf("the account budget is spent: AllowAll = %v, %v; want refused, wait 1s", ok, wait)
	}
	// The refusal took nothing from the IP budget: 3 of its 5 are left.
	for k := range 3 {
		if ok, _ := ip.AllowN("10.0.0.1", at(0), 1); !ok {
			t.Fatalf("IP token %d of the 3 left refused: the refused AllowAll must not have spent it", k+1)
		}
	}
	if ok, _ := AllowAll(at(0)); !ok {
		t.Fatalf("no budgets: want allowed")
	}
}
