package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// JobKind is the job kind that delivers one queued message.
const JobKind = "mail.send"

// MaxAttempts is how often a queued message is tried: more than the
// queue's default of 5, so that with its backoff (15 s doubling, each delay
// randomly shortened by up to half) the retries span 30 to 60 minutes,
// long enough to ride out a relay restart, or for an admin to fix the SMTP
// settings and restart Gatehouse before the message is given up.
const MaxAttempts = 9

// EnqueueTx queues m for delivery as part of sc's transaction (the write
// that causes the mail, such as a stored link or a delivery mark, commits
// with it, and a rollback sends nothing) and returns once it is stored, so
// a request never waits for the SMTP server. It validates m first: a bad
// address is the caller's error now, not a failed job later.
func EnqueueTx(ctx context.Context, q *job.Queue, sc store.Scope, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if _, err := q.EnqueueTx(ctx, sc, JobKind, m); err != nil {
		return fmt.Errorf("mail: queue message: %w", err)
	}
	return nil
}

// RegisterJob makes q deliver queued messages through s. Delivery errors
// are retried with the queue's backoff; a message that can never be sent
// (invalid, or unreadable) fails at once.
func RegisterJob(q *job.Queue, s Sender) {
	q.Register(JobKind, func(ctx context.Context, j *job.Job) error {
		var m Message
		if err := json.Unmarshal(j.Payload, &m); err != nil {
			return job.Permanent(fmt.Errorf("mail: decode queued message: %w", err))
		}
		if err := m.Validate(); err != nil {
			return job.Permanent(err)
		}
		err := s.Send(ctx, m)
		if errors.Is(err, ErrInvalidMessage) {
			return job.Permanent(err)
		}
		return err
	}, job.MaxAttempts(MaxAttempts))
}
