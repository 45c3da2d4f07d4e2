// Package ratelimit throttles events per key in process memory: login
// attempts per client IP, per account and per tenant, and other abuse
// throttles. A request that must pass several (AllowAll) spends from all
// of them or from none, and an attempt that turned out not to count can
// give its token back (Return).
//
// Each key has a token bucket, kept as GCRA state (one timestamp: when
// the bucket will be full again), so a bucket costs a few dozen bytes and
// a decision is a hash, a lock and some arithmetic. There is no dependency:
// golang.org/x/time/rate is not in go.mod, and it has no keyed limiter or
// eviction, which are the parts that matter here.
//
// Keys are chosen by attackers (an IP, a typed username), so memory is
// bounded: a Limiter remembers at most maxKeys buckets. Keys are stored as
// 64-bit hashes under a per-process random seed, so a long key costs no
// more than a short one and nobody can aim collisions (among 100,000 keys
// the chance of any collision is about 3·10⁻¹⁰). When a new key arrives,
// the bucket closest to full is reused if it is already full — forgetting
// it loses nothing — or if the table is at capacity, in which case the
// keys being throttled hardest are the last to be forgotten. Buckets live
// in up to 16 shards (one per 64 keys of capacity), each with its own
// lock, map and min-heap ordered by refill time.
//
// The state is per process: with several replicas each keeps its own
// buckets, so an attacker spreading attempts over N replicas gets N times
// the rate. The reputation policy, which lives in the database, is the
// cluster-wide brake; this package is the cheap first line.
package ratelimit
