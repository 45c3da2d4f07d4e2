package ratelimit

import (
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Never is the retryAfter of a request that can never be allowed: it asks
// for more tokens than the burst holds.
const Never = time.Duration(math.MaxInt64)

// Limiter is a set of token buckets, one per key, all with the same rate
// and burst, holding at most maxKeys buckets. It is safe for concurrent
// use. A nil *Limiter allows everything.
type Limiter struct {
	interval  int64 // nanoseconds to earn one token
	tolerance int64 // burst × interval: how far ahead of now a bucket may be
	burst     int64
	base      time.Time // times are kept as nanoseconds since base
	seed      maphash.Seed
	shards    []shard
}

// shard is one lock's worth of buckets: a map from key hash to bucket and
// a min-heap of the same buckets by tat, whose root is the bucket closest
// to full, the one to forget first.
type shard struct {
	mu      sync.Mutex
	buckets map[uint64]*bucket
	heap    []*bucket
	max     int
	_       [64]byte // keep neighbouring shards' locks off one cache line
}

// bucket is GCRA state: tat, the theoretical arrival time, is when the
// bucket will be full again. A bucket with tat <= now is full, the same as
// no bucket at all.
type bucket struct {
	key uint64
	tat int64
	idx int // position in the shard's heap
}

// clamp keeps times far from int64's ends, so adding a tolerance cannot
// overflow (±146 years around New's call).
const clamp = 1 << 62

// New returns a Limiter that allows burst events at once per key and
// refills at rate tokens per second, remembering at most maxKeys keys.
// It panics on a rate that is not positive and finite, a burst or maxKeys
// below 1, or a rate so slow that burst tokens take more than a century to
// earn: those are programming errors (configuration is validated first).
func New(rate float64, burst int, maxKeys int) *Limiter {
	if !(rate > 0) || math.IsInf(rate, 0) || burst < 1 || maxKeys < 1 {
		panic(fmt.Sprintf("ratelimit.New(%v, %d, %d): need rate > 0 and finite, burst >= 1, maxKeys >= 1", rate, burst, maxKeys))
	}
	interval := 1e9 / rate
	if interval*float64(burst) > 100*365*24*float64(time.Hour) {
		panic(fmt.Sprintf("ratelimit.New(%v, %d, %d): the burst takes over a century to refill", rate, burst, maxKeys))
	}
	l := &Limiter{
		interval: int64(math.Round(interval)),
		burst:    int64(burst),
		base:     time.Now(),
		seed:     maphash.MakeSeed(),
		shards:   make([]shard, min(16, max(1, maxKeys/64))),
	}
	l.tolerance = l.interval * l.burst
	for k := range l.shards {
		s := &l.shards[k]
		s.max = maxKeys / len(l.shards)
		if k < maxKeys%len(l.shards) {
			s.max++
		}
		s.buckets = make(map[uint64]*bucket)
	}
	return l
}

// Allow takes one token from key's bucket now, and reports whether there
// was one.
func (l *Limiter) Allow(key string) bool {
	ok, _ := l.AllowN(key, time.Now(), 1)
	return ok
}

// AllowN takes n tokens from key's bucket at time now, all or none. When
// they are not there it reports how long until they will be; a refused
// request takes nothing, so retrying early does not push the time back.
// n <= 0 is always allowed; n > burst never is (retryAfter is Never).
// now may come from any clock that the caller uses consistently; tests
// pass fixed times.
func (l *Limiter) AllowN(key string, now time.Time, n int) (ok bool, retryAfter time.Duration) {
	if l == nil || n <= 0 {
		return true, 0
	}
	if int64(n) > l.burst {
		return false, Never
	}
	t := min(max(now.Sub(l.base).Nanoseconds(), -clamp), clamp)
	h := maphash.String(l.seed, key)
	s := l.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[h]
	tat := t
	if b != nil && b.tat > t {
		tat = b.tat
	}
	newTat := tat + int64(n)*l.interval
	if allowAt := newTat - l.tolerance; t < allowAt {
		return false, time.Duration(allowAt - t)
	}
	if b == nil {
		s.insert(h, newTat, t)
		return true, 0
	}
	b.tat = newTat
	s.down(b.idx) // tat only grows
	return true, 0
}

// Wait reports how long until key's bucket holds a token at time now (0:
// it holds one), taking nothing. A caller that must pass several limiters
// asks each first and takes from them only when none would refuse, so a
// request refused by one does not spend the others' budgets.
func (l *Limiter) Wait(key string, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	t := min(max(now.Sub(l.base).Nanoseconds(), -clamp), clamp)
	h := maphash.String(l.seed, key)
	s := l.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[h]
	if b == nil {
		return 0
	}
	return time.Duration(max(b.tat+l.interval-l.tolerance-t, 0))
}

// Budget is one key of one limiter: a request that must pass several
// throttles (per IP, per account, per tenant) names a Budget for each.
type Budget struct {
	Limiter *Limiter
	Key     string
}

// AllowAll takes one token at time now from every budget, or, when any of
// them has none, takes nothing and reports the longest wait: a request
// refused by one budget does not spend the others. Two requests racing
// may both pass the last token's check; a budget is then overdrawn by one,
// which the next refill absorbs.
func AllowAll(now time.Time, budgets ...Budget) (ok bool, retryAfter time.Duration) {
	for _, b := range budgets {
		retryAfter = max(retryAfter, b.Limiter.Wait(b.Key, now))
	}
	if retryAfter > 0 {
		return false, retryAfter
	}
	for _, b := range budgets {
		b.Limiter.AllowN(b.Key, now, 1)
	}
	return true, 0
}

// Return gives back one token taken from key's bucket at time now: an
// attempt that turned out not to count (a login that succeeded) does not
// use up the budget meant for failures. The bucket never holds more than
// its burst.
func (l *Limiter) Return(key string, now time.Time) {
	if l == nil {
		return
	}
	t := min(max(now.Sub(l.base).Nanoseconds(), -clamp), clamp)
	h := maphash.String(l.seed, key)
	s := l.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[h]
	if b == nil {
		return
	}
	if b.tat -= l.interval; b.tat <= t {
		s.remove(b)
		return
	}
	s.up(b.idx) // tat only shrank
}

// Reset forgets key, giving it a full bucket (after a successful login,
// say).
func (l *Limiter) Reset(key string) {
	if l == nil {
		return
	}
	h := maphash.String(l.seed, key)
	s := l.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[h]; b != nil {
		s.remove(b)
	}
}

// Len is the number of keys remembered, at most maxKeys.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	n := 0
	for k := range l.shards {
		s := &l.shards[k]
		s.mu.Lock()
		n += len(s.heap)
		s.mu.Unlock()
	}
	return n
}

func (l *Limiter) shard(h uint64) *shard {
	return &l.shards[(h>>32)%uint64(len(l.shards))]
}

// insert adds a bucket for key. It reuses the bucket closest to full when
// that one is already full (forgetting it loses nothing) or when the shard
// is at capacity: then the forgotten key gets a fresh burst early, the
// least harm a bounded table can do, and the keys that are furthest in
// debt, those being throttled hardest, are the last to go.
func (s *shard) insert(key uint64, tat, now int64) {
	if len(s.heap) > 0 && (len(s.heap) >= s.max || s.heap[0].tat <= now) {
		b := s.heap[0]
		delete(s.buckets, b.key)
		b.key, b.tat = key, tat
		s.buckets[key] = b
		s.down(0)
		return
	}
	b := &bucket{key: key, tat: tat, idx: len(s.heap)}
	s.heap = append(s.heap, b)
	s.buckets[key] = b
	s.up(b.idx)
}

func (s *shard) remove(b *bucket) {
	delete(s.buckets, b.key)
	last := len(s.heap) - 1
	i := b.idx
	if i != last {
		s.swap(i, last)
	}
	s.heap[last] = nil
	s.heap = s.heap[:last]
	if i != last {
		s.down(i)
		s.up(i)
	}
}

func (s *shard) swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.heap[i].idx, s.heap[j].idx = i, j
}

func (s *shard) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if s.heap[p].tat <= s.heap[i].tat {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *shard) down(i int) {
	n := len(s.heap)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && s.heap[c+1].tat < s.heap[c].tat {
			c++
		}
		if s.heap[i].tat <= s.heap[c].tat {
			return
		}
		s.swap(i, c)
		i = c
	}
}
