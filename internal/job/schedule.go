package job

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// schedule is a periodic function and what this replica knows of its row.
type schedule struct {
	name  string
	every time.Duration
	fn    func(ctx context.Context) error
	// Owned by Run's goroutine:
	created   bool      // the row exists (inserted or found)
	nextCheck time.Time // no point asking the database before this
	// active is set while fn runs here, so a slow run is not started twice.
	active atomic.Bool
}

// Schedule registers fn to run every period, once across all replicas that
// share the database: the replica whose UPDATE moves the schedule's next_run
// forward runs it; the others see that it moved. The first run is due when
// the first replica starts. A run that fails is logged and not retried
// before the next period (schedules are for housekeeping that the next run
// catches up on). fn's context ends after one period. Register schedules
// before Run; names must be unique and stable across releases.
func (q *Queue) Schedule(name string, every time.Duration, fn func(ctx context.Context) error) {
	if name == "" || every <= 0 || fn == nil {
		panic("job: Schedule needs a name, a positive period and a function")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, s := range q.schedules {
		if s.name == name {
			panic(fmt.Sprintf("job: schedule %q registered twice", name))
		}
	}
	q.schedules = append(q.schedules, &schedule{name: name, every: every, fn: fn})
}

// runSchedules starts the schedules that are due and that this replica wins.
func (q *Queue) runSchedules(ctx context.Context, wg *sync.WaitGroup) {
	q.mu.RLock()
	list := append([]*schedule(nil), q.schedules...)
	q.mu.RUnlock()
	for _, s := range list {
		if ctx.Err() != nil {
			return
		}
		now := q.now()
		if s.active.Load() || now.Before(s.nextCheck) {
			continue
		}
		won, until, err := q.claimSchedule(ctx, s, now)
		if err != nil {
			if ctx.Err() == nil {
				q.log.Warn("job: schedule check failed", "schedule", s.name, "error", err)
			}
			continue
		}
		if !won {
			continue
		}
		s.active.Store(true)
		wg.Go(func() {
			defer s.active.Store(false)
			q.runSchedule(ctx, s, until)
		})
	}
}

// claimSchedule tries to take this period's run. It returns the lease it
// holds when it won.
func (q *Queue) claimSchedule(ctx context.Context, s *schedule, now time.Time) (bool, int64, error) {
	if !s.created {
		// The first replica creates the row due now; the others find it.
		_, err := q.db.ExecContext(ctx, `INSERT INTO schedules (name, next_run, locked_until) VALUES ($1, $2, 0)
			ON CONFLICT (name) DO NOTHING`, s.name, store.Micros(now))
		if err != nil {
			return false, 0, err
		}
		s.created = true
	}
	next := now.Add(s.every)
	// The lease outlasts the run's timeout (one period), so a run that is
	// still going is never overlapped; a crashed replica's lease just ends.
	until := store.Micros(next.Add(leaseMargin))
	res, err := q.db.ExecContext(ctx, `UPDATE schedules SET next_run = $2, locked_until = $3
		WHERE name = $1 AND next_run <= $4 AND locked_until <= $4`, s.name, store.Micros(next), until, store.Micros(now))
	if err != nil {
		return false, 0, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, 0, err
	} else if n == 1 {
		s.nextCheck = next
		return true, until, nil
	}
	// Another replica has it: sleep until the row says the next run is due.
	var nextRun, locked int64
	err = q.db.QueryRowContext(ctx, `SELECT next_run, locked_until FROM schedules WHERE name = $1`, s.name).
		Scan(&nextRun, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		s.created = false // deleted by hand: create it again next time
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	s.nextCheck = store.FromMicros(max(nextRun, locked))
	return false, 0, nil
}

func (q *Queue) runSchedule(ctx context.Context, s *schedule, until int64) {
	rctx, cancel := context.WithTimeout(ctx, s.every)
	start := time.Now()
	err := q.callSchedule(rctx, s)
	cancel()
	if err != nil {
		q.log.Error("job: scheduled run failed", "schedule", s.name, "error", err)
	} else {
		q.log.Debug("job: scheduled run done", "schedule", s.name, "duration", time.Since(start))
	}
	// Release the lease (only ours: a replica that took over after it
	// expired holds a different value), so a next run is not held up.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if _, err := q.db.ExecContext(wctx, `UPDATE schedules SET locked_until = 0 WHERE name = $1 AND locked_until = $2`,
		s.name, until); err != nil {
		q.log.Warn("job: cannot release schedule lease", "schedule", s.name, "error", err)
	}
}

func (q *Queue) callSchedule(ctx context.Context, s *schedule) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return s.fn(ctx)
}
