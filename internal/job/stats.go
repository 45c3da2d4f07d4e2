package job

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Counts is how many jobs are in each state.
type Counts struct {
	Pending, Running, Done, Failed int
}

// Stats counts jobs per kind, for metrics and the admin page.
type Stats struct {
	Kinds map[string]Counts
}

// Total sums the counts of all kinds.
func (s Stats) Total() Counts {
	var t Counts
	for _, c := range s.Kinds {
		t.Pending += c.Pending
		t.Running += c.Running
		t.Done += c.Done
		t.Failed += c.Failed
	}
	return t
}

// Stats counts the jobs in the database, of every replica. Finished jobs
// count until retention deletes them.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT kind, state, count(*) FROM jobs GROUP BY kind, state`)
	if err != nil {
		return Stats{}, fmt.Errorf("job: stats: %w", err)
	}
	defer rows.Close()
	s := Stats{Kinds: map[string]Counts{}}
	for rows.Next() {
		var kind, state string
		var n int
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return Stats{}, fmt.Errorf("job: stats: %w", err)
		}
		c := s.Kinds[kind]
		switch State(state) {
		case Pending:
			c.Pending = n
		case Running:
			c.Running = n
		case Done:
			c.Done = n
		case Failed:
			c.Failed = n
		}
		s.Kinds[kind] = c
	}
	if err := rows.Err(); err != nil {
		return Stats{}, fmt.Errorf("job: stats: %w", err)
	}
	return s, nil
}

// Info describes a job for the admin's job list. It leaves out the payload,
// which may hold personal data.
type Info struct {
	ID          uuid.UUID
	TenantID    uuid.NullUUID
	Kind        string
	State       State
	Attempts    int
	MaxAttempts int
	RunAt       time.Time
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Filter selects jobs for List; zero fields match everything.
type Filter struct {
	State  State
	Kind   string
	Tenant uuid.NullUUID
	// Limit defaults to 100 and is capped at 1000.
	Limit int
}

// List returns jobs, most recently updated first.
func (q *Queue) List(ctx context.Context, f Filter) ([]Info, error) {
	var cond []string
	var args []any
	add := func(col string, v any) {
		args = append(args, v)
		cond = append(cond, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if f.State != "" {
		add("state", string(f.State))
	}
	if f.Kind != "" {
		add("kind", f.Kind)
	}
	if f.Tenant.Valid {
		add("tenant_id", f.Tenant.UUID)
	}
	where := ""
	if len(cond) > 0 {
		where = " WHERE " + strings.Join(cond, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, min(limit, 1000))
	rows, err := q.db.QueryContext(ctx, `SELECT id, tenant_id, kind, state, attempts, max_attempts, run_at,
		last_error, created_at, updated_at FROM jobs`+where+fmt.Sprintf(` ORDER BY updated_at DESC, id LIMIT $%d`, len(args)),
		args...)
	if err != nil {
		return nil, fmt.Errorf("job: list: %w", err)
	}
	defer rows.Close()
	var out []Info
	for rows.Next() {
		var i Info
		var state string
		var runAt, cr, upd int64
		if err := rows.Scan(&i.ID, &i.TenantID, &i.Kind, &state, &i.Attempts, &i.MaxAttempts, &runAt,
			&i.LastError, &cr, &upd); err != nil {
			return nil, fmt.Errorf("job: list: %w", err)
		}
		i.State, i.RunAt, i.CreatedAt, i.UpdatedAt = State(state), store.FromMicros(runAt), store.FromMicros(cr), store.FromMicros(upd)
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job: list: %w", err)
	}
	return out, nil
}
