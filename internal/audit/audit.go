// Package audit is the one way events are recorded: it adds what the
// request says (client IP, method, path, user agent, request ID), masks
// secrets in the event's context, writes the event to the tenant's log and
// tells the metrics. Features call a flow.EventWriter-shaped function and
// never the store directly, so no event escapes masking. Retention (the
// hourly deletion of expired events) lives here too, beside the writer
// that gives events their expiry through the store.
//
// Masking follows Authentik's cleanse_dict: any key whose name contains
// API, TOKEN, KEY, SECRET, PASS, SIGNATURE or PWD (any case), and here
// also AUTHORIZATION, COOKIE or CREDENTIAL, has its value replaced at any
// depth (booleans and nulls are kept). A feature that records a secret
// under another name is a bug the end-to-end secret scan looks for.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Masked replaces a secret's value.
const Masked = "********"

var sensitive = regexp.MustCompile(`(?i)api|token|key|secret|pass|signature|pwd|authorization|cookie|credential`)

// Writer records events. Until Start, Record stores each event before it
// returns. After Start, Record only prepares the event (request details,
// masking) and queues it; one goroutine stores what has queued, each
// tenant's share in one transaction. A login then pays for a channel send
// instead of a commit, and under load many events share one commit: on
// SQLite, the one writer's lock is what concurrent token requests would
// otherwise queue on. Stop drains the queue, so a clean shutdown loses
// nothing; a crash loses at most what was queued (milliseconds' worth).
type Writer struct {
	// Store is where queued events go, in their tenant's scope: not the
	// caller's scope, which may be a transaction over by then.
	Store    store.Store
	Log      *slog.Logger
	Recorded func(action string)
	// Notify, when set, is given each event as it is stored (notification
	// rules), with the scope of the transaction that stores it: the jobs
	// it queues there (job.Queue.EnqueueTx) commit with the event, or not
	// at all. It must return quickly, as it runs on the path that stores
	// events.
	Notify func(ctx context.Context, sc store.Scope, e *store.Event)

	// mu orders Record's sends before Stop: Record holds it shared while
	// it sends, Stop exclusively while it marks the writer stopped.
	mu    sync.RWMutex
	queue chan queued // nil unless started
	// pending counts events queued and not yet stored, so that Flush
	// returns at once when there are none (a page may list events often).
	pending atomic.Int64
	stopped chan struct{}
	done    chan struct{}
}

// queued is an event waiting to be stored, or a Flush waiting for every
// event queued before it (flushed set).
type queued struct {
	tenant  uuid.UUID
	e       *store.Event
	flushed chan struct{}
}

const (
	// queueSize bounds the events waiting; when it is full, Record waits
	// for room (backpressure) rather than drop an audit record.
	queueSize = 4096
	// maxBatch bounds one transaction, so no batch holds SQLite's write
	// lock for long.
	maxBatch = 256
	// lingerTime is how long the writer waits for more events to share
	// a transaction with the first.
	lingerTime = 10 * time.Millisecond
)

// Start runs the background writer until Stop; w.Store must be set.
func (w *Writer) Start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.queue != nil {
		return
	}
	w.queue, w.stopped, w.done = make(chan queued, queueSize), make(chan struct{}), make(chan struct{})
	go w.run(w.queue)
}

// Stop stores everything queued and returns; later events are stored
// synchronously.
func (w *Writer) Stop() {
	w.mu.Lock()
	q := w.queue
	w.queue = nil
	w.mu.Unlock()
	if q != nil {
		close(w.stopped)
		<-w.done
	}
}

// Flush waits until every event recorded before it is stored (or ctx
// ends). Readers of the event log call it so that a page shows what this
// replica has just recorded.
func (w *Writer) Flush(ctx context.Context) {
	if w.pending.Load() == 0 {
		return
	}
	ch := make(chan struct{})
	if !w.enqueue(queued{flushed: ch}) {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// Record stores e in sc's tenant, now or soon (see Writer). Failure to
// store is logged, not returned: an audit hiccup must not fail a login.
func (w *Writer) Record(ctx context.Context, sc store.Scope, e *store.Event) {
	prepare(ctx, sc, e)
	e.Context = fit(e.Context)
	if !w.enqueue(queued{tenant: sc.TenantID(), e: e}) {
		if err := w.store(ctx, sc, e); err != nil {
			w.Log.Warn("event not recorded", "action", e.Action, "error", err)
		}
	}
}

// RecordNow stores e before it returns and reports the store's error, for
// callers that must tell their own caller (expression policies'
// ak_create_event); the rules that notify apply as for Record.
func (w *Writer) RecordNow(ctx context.Context, sc store.Scope, e *store.Event) error {
	prepare(ctx, sc, e)
	return w.store(ctx, sc, e)
}

// enqueue queues item unless the writer is not running.
func (w *Writer) enqueue(item queued) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.queue == nil {
		return false
	}
	if item.e != nil {
		w.pending.Add(1)
	}
	w.queue <- item
	return true
}

func (w *Writer) run(q <-chan queued) {
	defer close(w.done)
	batch := make([]queued, 0, maxBatch)
	linger := time.NewTimer(lingerTime)
	defer linger.Stop()
	for {
		select {
		case item := <-q:
			// Linger: events written together share one commit, and an
			// event insert touches a page in each of the log's indexes.
			// Nobody waits for an event, so a few milliseconds cost nothing.
			linger.Reset(lingerTime)
			batch = append(batch[:0], item)
		gather:
			for len(batch) < maxBatch {
				select {
				case item := <-q:
					batch = append(batch, item)
					if item.flushed != nil {
						break gather // someone is waiting
					}
				case <-linger.C:
					break gather
				case <-w.stopped:
					break gather
				}
			}
			w.write(fill(batch, q))
		case <-w.stopped:
			// Stop cleared w.queue under the lock, so nothing more
			// arrives: store what is buffered and end.
			for batch = fill(batch[:0], q); len(batch) > 0; batch = fill(batch[:0], q) {
				w.write(batch)
			}
			return
		}
	}
}

// fill adds to batch what is already waiting in q, up to maxBatch, without
// waiting: under load the batch is whatever queued during the last commit.
func fill(batch []queued, q <-chan queued) []queued {
	for len(batch) < maxBatch {
		select {
		case item := <-q:
			batch = append(batch, item)
		default:
			return batch
		}
	}
	return batch
}

// write stores a batch, one transaction per tenant in order of arrival,
// then releases the flushes in it. When a transaction fails (one bad
// event, such as one for a tenant deleted meanwhile), its events are
// stored one by one so that only the bad one is lost.
func (w *Writer) write(batch []queued) {
	ctx := context.Background()
	for i := 0; i < len(batch); {
		if batch[i].flushed != nil {
			i++
			continue
		}
		tenant, j := batch[i].tenant, i
		sc := w.Store.Scope(tenant)
		var group []*store.Event
		for ; j < len(batch) && (batch[j].flushed != nil || batch[j].tenant == tenant); j++ {
			if batch[j].e != nil {
				group = append(group, batch[j].e)
			}
		}
		_, err := w.insert(ctx, sc, group...)
		for _, e := range group {
			if err != nil {
				if err := w.store(ctx, sc, e); err != nil {
					w.Log.Warn("event not recorded", "action", e.Action, "error", err)
				}
				continue
			}
			w.recorded(e)
		}
		i = j
	}
	for _, item := range batch {
		if item.flushed != nil {
			close(item.flushed)
		} else {
			w.pending.Add(-1)
		}
	}
}

// store writes one event now, alone in its transaction, so that no other
// event can make it fail. If the transaction fails after the event's
// insert, what Notify queued failed it (on PostgreSQL a failed statement
// fails the whole transaction): the event is stored again without it,
// since the record comes first.
func (w *Writer) store(ctx context.Context, sc store.Scope, e *store.Event) error {
	inserted, err := w.insert(ctx, sc, e)
	if err != nil && inserted == 1 && w.Notify != nil {
		if err = sc.Events().Create(ctx, e); err == nil {
			w.Log.Warn("event recorded without its notifications", "action", e.Action)
		}
	}
	if err != nil {
		return err
	}
	w.recorded(e)
	return nil
}

// insert stores events in sc's tenant in one transaction and gives each to
// Notify in it. It reports how many inserts succeeded before an error; on
// an error nothing is stored, and the events' IDs are cleared, since the
// rolled-back inserts' IDs never existed.
func (w *Writer) insert(ctx context.Context, sc store.Scope, events ...*store.Event) (int, error) {
	inserted := 0
	err := sc.Tx(ctx, func(tx store.Scope) error {
		for _, e := range events {
			if err := tx.Events().Create(ctx, e); err != nil {
				return err
			}
			inserted++
			if w.Notify != nil {
				w.Notify(ctx, tx, e)
			}
		}
		return nil
	})
	if err != nil {
		for _, e := range events {
			e.ID = uuid.Nil
		}
	}
	return inserted, err
}

// recorded tells the metrics about a stored event.
func (w *Writer) recorded(e *store.Event) {
	if w.Recorded != nil {
		w.Recorded(e.Action)
	}
}

// prepare adds the request to e (and the impersonator behind it, if any)
// and masks its context. It runs on the caller's goroutine, where ctx
// still describes the request.
func prepare(ctx context.Context, sc store.Scope, e *store.Event) {
	info := reqinfo.From(ctx)
	if info.Impersonator.Valid && !e.ImpersonatorID.Valid {
		// Only while an admin impersonates: one lookup for the name the
		// event keeps (the admin may be renamed or deleted later).
		e.ImpersonatorID = info.Impersonator
		if u, err := sc.Users().Get(ctx, info.Impersonator.UUID); err == nil {
			e.ImpersonatorUsername = u.Username
			if e.Context == nil {
				e.Context = map[string]any{}
			}
			if _, set := e.Context["impersonator"]; !set {
				e.Context["impersonator"] = u.Username
			}
		}
	}
	if e.ClientIP == "" {
		e.ClientIP = info.ClientIP
	}
	if e.UserAgent == "" {
		e.UserAgent = info.UserAgent
	}
	e.Context = Mask(e.Context)
	if info.RequestID != "" {
		if _, set := e.Context["http_request"]; !set {
			e.Context["http_request"] = map[string]any{"method": info.Method, "path": info.Path,
				"user_agent": info.UserAgent, "request_id": info.RequestID}
		}
	}
}

// fit makes an event's context storable (see store.CheckJSON): what sits
// deeper than store.MaxJSONDepth becomes a note, then the largest
// top-level values, one at a time, until the context fits in
// store.MaxEventContextLen. An event is kept rather than lost to a
// context that is too large: a model_updated event carries the changed
// fields, which may themselves be as large or as deep as allowed.
func fit(ctx map[string]any) map[string]any {
	if _, problem := store.CheckJSON(ctx, store.MaxEventContextLen, store.MaxJSONDepth); problem == "" {
		return ctx
	}
	out := prune(ctx, 1).(map[string]any)
	for {
		if _, problem := store.CheckJSON(out, store.MaxEventContextLen, store.MaxJSONDepth); problem == "" {
			return out
		}
		largest, size := "", 0
		for k, v := range out {
			n := store.MaxEventContextLen + 1 // unencodable: must go
			if b, err := json.Marshal(v); err == nil {
				n = len(b)
			}
			if n > size {
				largest, size = k, n
			}
		}
		if largest == "" || size <= len(removedNote) {
			return map[string]any{"context": "(removed: too large to record)"}
		}
		out[largest] = fmt.Sprintf(removedNote, size)
	}
}

const removedNote = "(removed: %d bytes, too large to record)"

// prune copies v, replacing the objects and arrays nested deeper than
// store.MaxJSONDepth (v being at depth) with a note.
func prune(v any, depth int) any {
	switch x := v.(type) {
	case map[string]any:
		if depth > store.MaxJSONDepth {
			return "(removed: nested too deep to record)"
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = prune(e, depth+1)
		}
		return out
	case []any:
		if depth > store.MaxJSONDepth {
			return "(removed: nested too deep to record)"
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = prune(e, depth+1)
		}
		return out
	}
	return v
}

// Mask returns a copy of m with secret values replaced, at any depth.
func Mask(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sensitive.MatchString(k) {
			// A yes/no ("passing", "password_set") reveals nothing and
			// is often the point of the event.
			if _, isBool := v.(bool); !isBool && v != nil {
				out[k] = Masked
				continue
			}
		}
		out[k] = maskValue(v)
	}
	return out
}

func maskValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return Mask(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskValue(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Mask(e)
		}
		return out
	}
	return v
}

// Reading returns s with one change: listing events first waits for the
// events this writer has queued (Flush), so that a page read right after
// an action shows it. The API and the admin console read through it.
func (w *Writer) Reading(s store.Store) store.Store { return readingStore{s, w} }

type readingStore struct {
	store.Store
	w *Writer
}

func (s readingStore) Scope(tenant uuid.UUID) store.Scope {
	return readingScope{s.Store.Scope(tenant), s.w}
}

type readingScope struct {
	store.Scope
	w *Writer
}

func (s readingScope) Events() store.Events { return readingEvents{s.Scope.Events(), s.w} }

type readingEvents struct {
	store.Events
	w *Writer
}

func (e readingEvents) List(ctx context.Context, q store.EventQuery) ([]*store.Event, int, error) {
	e.w.Flush(ctx)
	return e.Events.List(ctx, q)
}
