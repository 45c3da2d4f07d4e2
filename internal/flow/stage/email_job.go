package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// EmailJobKind makes and mails the link of an email stage. The stage only
// queues it, for an account and for nobody alike, so that the request does
// the same work (one insert) whether the name typed has an account:
// creating the link and queueing the mail for accounts only made the
// answer measurably slower for them. For nobody the job does nothing.
const EmailJobKind = "flow.email_link"

// emailJob is what the stage hands to the job.
type emailJob struct {
	// User is the account to write to; uuid.Nil for nobody.
	User uuid.UUID `json:"user"`
	Flow string    `json:"flow"`
	// Plan is the plan the link resumes.
	Plan json.RawMessage `json:"plan"`
	// FlowURL is the flow's absolute address; the job adds the token.
	FlowURL  string    `json:"flow_url"`
	Template string    `json:"template"`
	Subject  string    `json:"subject"`
	Lang     string    `json:"lang"`
	Expires  time.Time `json:"expires"`
	// The request's, for the email_sent event.
	ClientIP  string `json:"client_ip"`
	UserAgent string `json:"user_agent"`
}

// RegisterEmailJob makes q run EmailJobKind: it stores the link's flow
// token and queues the mail through m in one transaction, so that a
// retried job neither leaves a token no mail carries nor mails twice, and
// records email_sent once both are stored.
func RegisterEmailJob(q *job.Queue, st store.Store, m flow.Mailer, events flow.EventWriter) {
	q.Register(EmailJobKind, func(ctx context.Context, j *job.Job) error {
		var p emailJob
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return job.Permanent(fmt.Errorf("email stage: decode queued link: %w", err))
		}
		if !j.TenantID.Valid {
			return job.Permanent(errors.New("email stage: queued link without a tenant"))
		}
		if p.User == uuid.Nil {
			return nil
		}
		sc := st.Scope(j.TenantID.UUID)
		u, err := sc.Users().Get(ctx, p.User)
		if errors.Is(err, store.ErrNotFound) {
			return nil // deleted since
		}
		if err != nil {
			return err
		}
		key := newKey()
		err = sc.Tx(ctx, func(tx store.Scope) error {
			if err := tx.FlowTokens().Create(ctx, &store.FlowToken{KeyHash: crypto.HashToken(key), FlowSlug: p.Flow,
				Plan: p.Plan, Expires: p.Expires}); err != nil {
				return err
			}
			if m == nil {
				return nil
			}
			return m.SendTemplate(ctx, tx, u.Email, mailTemplate(p.Template), p.Lang, map[string]any{
				"Name": firstNonEmpty(u.Name, u.Username), "Link": p.FlowURL + "?flow_token=" + url.QueryEscape(key),
				"Expires": p.Expires, "Subject": p.Subject})
		})
		if err == nil && events != nil {
			events(ctx, sc, &store.Event{Action: "email_sent", ClientIP: p.ClientIP, UserAgent: p.UserAgent,
				UserID: uuid.NullUUID{UUID: u.ID, Valid: true}, Username: u.Username,
				Context: map[string]any{"template": p.Template, "to": maskEmail(u.Email), "flow": p.Flow}})
		}
		return err
	}, job.MaxAttempts(3))
}
