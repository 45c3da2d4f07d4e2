package job

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestScheduleRunsOncePerPeriodAcrossReplicas(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		c := newClock()
		var runs [2]atomic.Int32
		total := func() int32 { return runs[0].Load() + runs[1].Load() }
		for i := range 2 {
			q := newQueue(t, d, c)
			q.Schedule("test.sweep", 5*time.Minute, func(ctx context.Context) error {
				runs[i].Add(1)
				return nil
			})
			start(t, q, 1)
		}
		for period := int32(1); period <= 3; period++ {
			eventually(t, "the scheduled run", func() bool { return total() >= period })
			time.Sleep(60 * time.Millisecond) // several polls of both replicas
			if n := total(); n != period {
				t.Fatalf("period %d: the schedule ran %d times in total, want %d", period, n, period)
			}
			c.Advance(5*time.Minute + leaseMargin)
		}
		t.Logf("replica A ran %d, replica B %d", runs[0].Load(), runs[1].Load())
	})
}

func TestFailingScheduleWaitsForNextPeriod(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		c := newClock()
		q := newQueue(t, d, c)
		var runs atomic.Int32
		q.Schedule("test.broken", time.Hour, func(ctx context.Context) error {
			runs.Add(1)
			return errors.New("ldap: connection refused")
		})
		start(t, q, 1)
		eventually(t, "first run", func() bool { return runs.Load() == 1 })
		time.Sleep(50 * time.Millisecond)
		if n := runs.Load(); n != 1 {
			t.Fatalf("a failing schedule ran %d times within its period, want 1", n)
		}
		c.Advance(time.Hour)
		eventually(t, "second period's run", func() bool { return runs.Load() == 2 })
	})
}
