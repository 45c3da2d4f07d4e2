package job

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Handler does the work of one job. An error schedules a retry (or fails
// the job after its last attempt); wrap it with Permanent to fail at once.
// The context ends at the kind's timeout and when the queue shuts down.
type Handler func(ctx context.Context, job *Job) error

// Job is one claimed unit of work, as a handler sees it.
type Job struct {
	ID   uuid.UUID
	Kind string
	// TenantID is the tenant the job was enqueued for; not Valid for
	// system-wide work.
	TenantID uuid.NullUUID
	Payload  json.RawMessage
	// Attempt counts from 1; it equals MaxAttempts on the last try.
	Attempt     int
	MaxAttempts int
}

// State is where a job is in its life.
type State string

const (
	Pending State = "pending" // waiting for run_at, or for a free worker
	Running State = "running" // claimed by a replica, under lease
	Done    State = "done"    // succeeded; the row is kept a day, without its payload
	Failed  State = "failed"  // out of attempts or permanently failed; kept 30 days
)

const (
	// DefaultMaxAttempts is Authentik's worker default.
	DefaultMaxAttempts = 5
	// DefaultTimeout bounds one attempt of a kind registered without Timeout.
	DefaultTimeout = 5 * time.Minute
	// MaxBackoff caps the delay between two attempts.
	MaxBackoff = time.Hour
	// baseBackoff is the first retry delay, doubling per attempt: 15 s,
	// 30 s, 1 min, 2 min, ... (dramatiq's min_backoff, which Authentik uses).
	baseBackoff = 15 * time.Second
	// leaseMargin is added to a kind's timeout to make its lease: a worker
	// that is alive has been told to stop well before another may take over.
	leaseMargin = 30 * time.Second
	// maxErrorBytes bounds last_error: enough to diagnose, too short to
	// hold a payload someone wrapped into an error by mistake.
	maxErrorBytes = 1024
	// DoneRetention and FailedRetention are how long finished jobs are kept
	// for the admin's job list before the built-in schedule deletes them.
	DoneRetention   = 24 * time.Hour
	FailedRetention = 30 * 24 * time.Hour
	// DefaultPollInterval is how often Run looks for jobs enqueued by other
	// replicas or becoming due; local enqueues wake it at once.
	DefaultPollInterval = time.Second
)

// Queue is the job queue of one replica. Register kinds and schedules, then
// call Run once; Enqueue and Stats may be called from anywhere, at any time.
type Queue struct {
	db      *sql.DB
	pg      bool
	log     *slog.Logger
	now     func() time.Time
	backoff func(attempt int) time.Duration
	poll    time.Duration
	// wake is signalled by Enqueue so a local job starts without waiting
	// for the next poll.
	wake    chan struct{}
	running atomic.Bool

	mu        sync.RWMutex
	kinds     map[string]*kind
	schedules []*schedule
}

type kind struct {
	h           Handler
	maxAttempts int
	timeout     time.Duration
}

// Option configures a Queue.
type Option func(*Queue)

// WithClock replaces the clock used for run_at, leases and schedules; for
// tests that move time forward instead of sleeping.
func WithClock(now func() time.Time) Option { return func(q *Queue) { q.now = now } }

// WithBackoff replaces the retry delay after the given (1-based) failed
// attempt; for tests, or deployments wanting another curve.
func WithBackoff(f func(attempt int) time.Duration) Option {
	return func(q *Queue) { q.backoff = f }
}

// WithPollInterval sets how often Run polls the database.
func WithPollInterval(d time.Duration) Option {
	return func(q *Queue) {
		if d > 0 {
			q.poll = d
		}
	}
}

// New makes a queue on a database migrated by sqlstore; driver is
// sqlstore's (*DB).Driver(): "sqlite" or "postgres".
func New(db *sql.DB, driver string, log *slog.Logger, opts ...Option) *Queue {
	if driver != "sqlite" && driver != "postgres" {
		panic(fmt.Sprintf("job: unknown driver %q (want sqlite or postgres)", driver))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &Queue{
		db: db, pg: driver == "postgres", log: log,
		now: time.Now, backoff: Backoff, poll: DefaultPollInterval,
		wake:  make(chan struct{}, 1),
		kinds: map[string]*kind{},
	}
	for _, o := range opts {
		o(q)
	}
	q.Schedule("job.retention", time.Hour, q.deleteFinished)
	return q
}

// Backoff is the default retry delay after the given failed attempt:
// exponential from 15 s, capped at MaxBackoff, with jitter in the upper
// half so that jobs failing together (an SMTP outage) do not retry in
// lockstep.
func Backoff(attempt int) time.Duration {
	d := MaxBackoff
	if attempt < 20 { // beyond that the shift would exceed the cap anyway
		d = min(MaxBackoff, baseBackoff<<max(attempt-1, 0))
	}
	return d/2 + rand.N(d/2+1)
}

// KindOption configures a registered kind.
type KindOption func(*kind)

// MaxAttempts sets how many times a job of the kind is tried in total.
func MaxAttempts(n int) KindOption {
	return func(k *kind) {
		if n > 0 {
			k.maxAttempts = n
		}
	}
}

// Timeout bounds one attempt; the handler's context ends after it.
func Timeout(d time.Duration) KindOption {
	return func(k *kind) {
		if d > 0 {
			k.timeout = d
		}
	}
}

// Register sets the handler of a kind. Register every kind before Run and
// before enqueueing it: the kind's settings are stored with each job, and a
// replica only claims kinds it can run. Registering a kind twice panics.
func (q *Queue) Register(name string, h Handler, opt ...KindOption) {
	if name == "" || h == nil {
		panic("job: Register needs a kind name and a handler")
	}
	k := &kind{h: h, maxAttempts: DefaultMaxAttempts, timeout: DefaultTimeout}
	for _, o := range opt {
		o(k)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, dup := q.kinds[name]; dup {
		panic(fmt.Sprintf("job: kind %q registered twice", name))
	}
	q.kinds[name] = k
}

func (q *Queue) kind(name string) *kind {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return q.kinds[name]
}

type enqueueOptions struct {
	runAt  time.Time
	tenant uuid.NullUUID
	unique string
}

// EnqueueOption configures one Enqueue.
type EnqueueOption func(*enqueueOptions)

// RunAt delays the job until t (a time in the past means now).
func RunAt(t time.Time) EnqueueOption { return func(o *enqueueOptions) { o.runAt = t } }

// Tenant records the tenant the job works for.
func Tenant(id uuid.UUID) EnqueueOption {
	return func(o *enqueueOptions) { o.tenant = uuid.NullUUID{UUID: id, Valid: id != uuid.Nil} }
}

// Unique skips the enqueue when a job of the same kind and key is already
// pending or running. With Tenant, the key is scoped to that tenant, so one
// tenant's job never suppresses another's.
func Unique(key string) EnqueueOption { return func(o *enqueueOptions) { o.unique = key } }

// Enqueue stores a job; payload is encoded as JSON. It returns as soon as
// the row is written. With Unique and a job already queued, it returns that
// job's ID (uuid.Nil if it finished in between) and no error. A job caused
// by a store write goes through EnqueueTx instead, in the write's
// transaction.
func (q *Queue) Enqueue(ctx context.Context, kindName string, payload any, opt ...EnqueueOption) (uuid.UUID, error) {
	id, due, err := q.insert(ctx, q.db, kindName, payload, opt)
	if due {
		q.signal()
	}
	return id, err
}

// EnqueueTx is Enqueue as part of sc's transaction: the job is stored when
// the transaction commits and never if it rolls back, so the write that
// causes a job (an event and its notifications, a session's end and its
// back-channel logouts, a link and its email) and the job are never one
// without the other. Outside a transaction it is Enqueue through sc. The
// job belongs to sc's tenant unless an option says otherwise.
func (q *Queue) EnqueueTx(ctx context.Context, sc store.Scope, kindName string, payload any, opt ...EnqueueOption) (uuid.UUID, error) {
	opt = append([]EnqueueOption{Tenant(sc.TenantID())}, opt...)
	id, due, err := q.insert(ctx, sc.Conn(), kindName, payload, opt)
	if due {
		// Woken before the commit, Run would not see the row yet.
		sc.AfterCommit(q.signal)
	}
	return id, err
}

// insert writes a job row through conn; due says it should run at once.
func (q *Queue) insert(ctx context.Context, conn store.Conn, kindName string, payload any, opt []EnqueueOption) (uuid.UUID, bool, error) {
	k := q.kind(kindName)
	if k == nil {
		return uuid.Nil, false, fmt.Errorf("job: enqueue %q: no handler is registered for this kind", kindName)
	}
	var o enqueueOptions
	for _, f := range opt {
		f(&o)
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("job: enqueue %q: encode payload: %w", kindName, err)
	}
	now := store.Micros(q.now())
	runAt := max(store.Micros(o.runAt), now)
	var key sql.NullString
	if o.unique != "" {
		key = sql.NullString{String: o.unique, Valid: true}
		if o.tenant.Valid {
			key.String = o.tenant.UUID.String() + "/" + o.unique
		}
	}
	id := uuid.Must(uuid.NewV7())
	res, err := conn.ExecContext(ctx, `INSERT INTO jobs (id, tenant_id, kind, payload, unique_key, state, attempts,
		max_attempts, run_at, locked_until, last_error, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, 0, '', $8, $8)
		ON CONFLICT (kind, unique_key) WHERE unique_key IS NOT NULL AND state IN ('pending', 'running') DO NOTHING`,
		id, o.tenant, kindName, string(raw), key, k.maxAttempts, runAt, now)
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("job: enqueue %q: %w", kindName, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		var existing uuid.UUID
		err := conn.QueryRowContext(ctx, `SELECT id FROM jobs WHERE kind = $1 AND unique_key = $2
			AND state IN ('pending', 'running')`, kindName, key).Scan(&existing)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return uuid.Nil, false, fmt.Errorf("job: enqueue %q: %w", kindName, err)
		}
		return existing, false, nil
	}
	return id, runAt <= now, nil
}

// signal wakes Run without blocking; one pending wake-up is enough.
func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks a handler's error as one no retry can fix (a malformed
// payload, a rejected input): the job fails at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// errorText is what last_error stores: valid UTF-8 without NUL bytes (which
// PostgreSQL's TEXT refuses, and which would leave the job stuck under its
// lease), cut at 1 KiB on a character boundary.
func errorText(err error) string {
	s := strings.ToValidUTF8(err.Error(), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) <= maxErrorBytes {
		return s
	}
	const ellipsis = "…"
	cut := maxErrorBytes - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
