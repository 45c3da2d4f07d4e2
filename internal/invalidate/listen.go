package invalidate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// minBackoff and maxBackoff bound the wait before reconnecting; it
	// doubles per failed attempt and starts over once a connection listens.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
	// idlePing is how long the listener waits for a notification before it
	// pings the server: a connection that died without a word (a dropped
	// network path, a failover) is noticed this late at the most.
	idlePing    = 30 * time.Second
	pingTimeout = 5 * time.Second
	// applicationName shows the listener in pg_stat_activity.
	applicationName = "gatehouse-invalidate"
)

// Listen delivers the announcements of other replicas sharing the
// PostgreSQL database at dsn until ctx ends, reconnecting with backoff when
// the connection fails. Each time it starts listening, it first drops every
// cache: announcements made while nothing listened are lost. It returns
// nil when ctx ends; a dsn pgx cannot parse is the only error.
func (b *Bus) Listen(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("invalidate: %w", err)
	}
	cfg.RuntimeParams["application_name"] = applicationName
	backoff := minBackoff
	for {
		listened, err := b.listen(ctx, cfg)
		b.listening.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			backoff = minBackoff
		}
		b.log.Warn("invalidate: not listening to other replicas' changes; their edits reach this one within the cache TTLs until it reconnects",
			"error", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen runs one connection until it fails; listened tells whether it got
// as far as listening.
func (b *Bus) listen(ctx context.Context, cfg *pgx.ConnConfig) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return false, fmt.Errorf("LISTEN: %w", err)
	}
	b.listening.Store(true)
	// After LISTEN, so that a change made from here on is either already
	// in the store when a cache reloads, or announced to this connection.
	b.deliverAll()
	b.log.Info("invalidate: listening to other replicas' changes")
	for {
		wctx, cancel := context.WithTimeout(ctx, idlePing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			b.receive(n.Payload)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		default:
			return true, fmt.Errorf("wait for notification: %w", err)
		}
	}
}
