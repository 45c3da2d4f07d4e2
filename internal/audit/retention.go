package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RetentionSchedule is the job schedule that deletes expired events.
// Hourly rather than with the five-minute cleanup of sessions and tokens:
// an event kept a little past its expiry harms no one, and a backlog is
// deleted in batches that interleave with logins.
const RetentionSchedule = "events.retention"

// Retention returns the schedule's function: DeleteExpired at now().
func Retention(db store.Store, now func() time.Time, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		n, err := DeleteExpired(ctx, db, now())
		if n > 0 {
			log.Info("expired events deleted", "count", n)
		}
		return err
	}
}

// DeleteExpired deletes the expired events of every tenant. A tenant whose
// deletion fails does not hold up the others.
func DeleteExpired(ctx context.Context, db store.Store, now time.Time) (int, error) {
	tenants, err := db.Tenants().List(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, t := range tenants {
		n, err := db.Scope(t.ID).Events().DeleteExpired(ctx, now)
		total += n
		if err != nil {
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.ID, err))
		}
	}
	return total, errors.Join(errs...)
}
