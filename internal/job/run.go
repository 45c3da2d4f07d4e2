package job

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// recordTimeout bounds the write of a job's outcome. It runs on a context
// detached from Run's, so a shutdown still records what finished.
const recordTimeout = 10 * time.Second

// leaseExpired is the last_error of a job whose worker vanished.
const leaseExpired = "lease expired: the replica running this job stopped or did not finish within the kind's timeout"

// Run claims and runs jobs with up to workers handlers at once, and runs
// the due schedules, until ctx is done. Then it cancels the running
// handlers, puts their jobs back in the queue without counting the attempt,
// waits for them to return, and returns nil. Handlers must honour their
// context for Run to return promptly. Run may be active once per Queue.
func (q *Queue) Run(ctx context.Context, workers int) error {
	if workers < 1 {
		workers = 1
	}
	if !q.running.CompareAndSwap(false, true) {
		return errors.New("job: Run is already active on this queue")
	}
	defer q.running.Store(false)

	q.mu.RLock()
	kinds := maps.Clone(q.kinds)
	q.mu.RUnlock()

	ticker := time.NewTicker(q.poll)
	defer ticker.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	// finished has room for every worker, so a returning worker never blocks.
	finished := make(chan struct{}, workers)
	busy, maintain := 0, true
	for {
		if maintain {
			q.reap(ctx)
			q.runSchedules(ctx, &wg)
			maintain = false
		}
		for busy < workers && len(kinds) > 0 && ctx.Err() == nil {
			want := workers - busy
			jobs, err := q.claim(ctx, kinds, want)
			if err != nil {
				if ctx.Err() == nil {
					q.log.Warn("job: claim failed; retrying at the next poll", "error", err)
				}
				break
			}
			for _, j := range jobs {
				busy++
				wg.Go(func() {
					q.execute(ctx, kinds[j.Kind], j)
					finished <- struct{}{}
				})
			}
			if len(jobs) < want {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil // the deferred wg.Wait lets cancelled handlers release their jobs
		case <-ticker.C:
			maintain = true
		case <-q.wake:
		case <-finished:
			busy--
		}
	}
}

// claim takes up to n due jobs of the given kinds, marking them running
// under a lease of their kind's timeout plus a margin.
func (q *Queue) claim(ctx context.Context, kinds map[string]*kind, n int) ([]*Job, error) {
	now := q.now()
	args := []any{store.Micros(now), n}
	in := make([]string, 0, len(kinds))
	lease := make([]string, 0, len(kinds))
	for _, name := range slices.Sorted(maps.Keys(kinds)) {
		args = append(args, name, store.Micros(now.Add(kinds[name].timeout+leaseMargin)))
		k, until := len(args)-1, len(args)
		in = append(in, fmt.Sprintf("$%d", k))
		// CAST: PostgreSQL cannot infer a type for a CASE of bare parameters.
		lease = append(lease, fmt.Sprintf("WHEN $%d THEN CAST($%d AS BIGINT)", k, until))
	}
	due := `state = 'pending' AND run_at <= $1 AND kind IN (` + strings.Join(in, ", ") + `)`
	set := `state = 'running', attempts = jobs.attempts + 1, updated_at = $1,
		locked_until = CASE jobs.kind ` + strings.Join(lease, " ") + ` END`
	const returning = ` RETURNING jobs.id, jobs.tenant_id, jobs.kind, jobs.payload, jobs.attempts, jobs.max_attempts`
	var query string
	if q.pg {
		// SKIP LOCKED: replicas polling together take different rows
		// instead of queueing behind each other's locks. The CTE is
		// evaluated once, so LIMIT really bounds the claim.
		query = `WITH next AS (SELECT id FROM jobs WHERE ` + due + ` ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED)
			UPDATE jobs SET ` + set + ` FROM next WHERE jobs.id = next.id` + returning
	} else {
		// SQLite runs one writing statement at a time, so selecting and
		// updating in one statement cannot hand a job to two workers.
		query = `UPDATE jobs SET ` + set + ` WHERE id IN (SELECT id FROM jobs WHERE ` + due +
			` ORDER BY run_at LIMIT $2)` + returning
	}
	// Not cancelled with Run's context: a claim committed but cut off while
	// its rows were read would leave jobs running under a lease nobody
	// holds. Jobs claimed during shutdown are released by execute.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	rows, err := q.db.QueryContext(cctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		var j Job
		var payload []byte
		if err := rows.Scan(&j.ID, &j.TenantID, &j.Kind, &payload, &j.Attempt, &j.MaxAttempts); err != nil {
			return nil, err
		}
		j.Payload = payload
		out = append(out, &j)
	}
	return out, rows.Err()
}

// execute runs one claimed job and records the outcome.
func (q *Queue) execute(ctx context.Context, k *kind, j *Job) {
	hctx, cancel := context.WithTimeout(ctx, k.timeout)
	err := q.call(hctx, k.h, j)
	cancel()

	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	log := q.log.With("job_id", j.ID, "kind", j.Kind, "attempt", j.Attempt, "max_attempts", j.MaxAttempts)
	var rerr error
	switch {
	case err == nil:
		// The payload may hold personal data (an email and its link); a
		// done job no longer needs it.
		rerr = q.record(wctx, j, `state = 'done', payload = '{}', last_error = ''`)
	case ctx.Err() != nil:
		// Shutting down: the attempt was interrupted, not failed.
		rerr = q.record(wctx, j, `state = 'pending', attempts = attempts - 1, run_at = $3`, store.Micros(q.now()))
		log.Info("job: interrupted by shutdown; it will run again", "error", err)
	case isPermanent(err) || j.Attempt >= j.MaxAttempts:
		rerr = q.record(wctx, j, `state = 'failed', last_error = $3`, errorText(err))
		log.Error("job: failed; no more attempts", "error", err, "permanent", isPermanent(err))
	default:
		delay := q.backoff(j.Attempt)
		rerr = q.record(wctx, j, `state = 'pending', last_error = $3, run_at = $4`,
			errorText(err), store.Micros(q.now().Add(delay)))
		log.Warn("job: attempt failed; will retry", "error", err, "retry_in", delay.Round(time.Second).String())
		if delay <= 0 {
			q.signal()
		}
	}
	if rerr != nil {
		// The lease will expire and the job run again: at least once.
		log.Error("job: cannot record the result", "error", rerr, "result", fmt.Sprint(err))
	}
}

// record writes a job's outcome, only if this claim is still current: a
// worker that outlived its lease (and whose job was retried elsewhere) sees
// a higher attempts count and changes nothing.
func (q *Queue) record(ctx context.Context, j *Job, set string, args ...any) error {
	args = append([]any{j.ID, j.Attempt}, args...)
	now := fmt.Sprintf("$%d", len(args)+1)
	args = append(args, store.Micros(q.now()))
	_, err := q.db.ExecContext(ctx, `UPDATE jobs SET `+set+`, locked_until = 0, updated_at = `+now+`
		WHERE id = $1 AND attempts = $2`, args...)
	return err
}

// call runs the handler, turning a panic into an error so one bad job
// cannot take the replica down.
func (q *Queue) call(ctx context.Context, h Handler, j *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			q.log.Error("job: handler panicked", "job_id", j.ID, "kind", j.Kind, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return h(ctx, j)
}

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// reap returns jobs whose lease has passed to the queue (or fails them if
// that was their last attempt). Every replica does it; the UPDATE is
// idempotent, and the WHERE clause is re-checked under the row lock.
func (q *Queue) reap(ctx context.Context) {
	now := store.Micros(q.now())
	res, err := q.db.ExecContext(ctx, `UPDATE jobs
		SET state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
		    last_error = $2, locked_until = 0, run_at = $1, updated_at = $1
		WHERE state = 'running' AND locked_until <= $1`, now, leaseExpired)
	if err != nil {
		if ctx.Err() == nil {
			q.log.Warn("job: cannot reset expired leases", "error", err)
		}
		return
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.log.Warn("job: took back jobs whose lease expired", "count", n)
		q.signal()
	}
}

// deleteFinished is the built-in retention schedule.
func (q *Queue) deleteFinished(ctx context.Context) error {
	now := q.now()
	res, err := q.db.ExecContext(ctx, `DELETE FROM jobs WHERE (state = 'done' AND updated_at < $1)
		OR (state = 'failed' AND updated_at < $2)`,
		store.Micros(now.Add(-DoneRetention)), store.Micros(now.Add(-FailedRetention)))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.log.Info("job: deleted finished jobs past retention", "count", n)
	}
	return nil
}
