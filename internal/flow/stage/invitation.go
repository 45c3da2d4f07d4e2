package stage

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// invitation admits only holders of a valid invitation (?itoken=) to an
// enrollment flow, and pre-fills their prompts with its fixed data.
type invitation struct {
	ContinueFlowWithoutInvitation bool `json:"continue_flow_without_invitation"`
}

func newInvitation(cfg json.RawMessage) (flow.Stage, error) {
	s := &invitation{}
	return s, decode(cfg, s)
}

const invitationInEffect = "invitation_in_effect"

func (s *invitation) Respond(ctx context.Context, x *flow.Execution, _ flow.Response) flow.Outcome {
	return s.Challenge(ctx, x)
}

func (s *invitation) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	tok := x.Plan.Context.String(flow.KeyInvitationToken)
	if tok == "" {
		if t, ok := x.Plan.Context.PromptData()["token"].(string); ok {
			tok = t
		}
	}
	if tok == "" {
		if s.ContinueFlowWithoutInvitation {
			return flow.Next()
		}
		return flow.Deny("invitation.required", "This flow requires an invitation.")
	}
	inv, err := lookupInvitation(ctx, x, tok)
	if err != nil {
		return flow.Fail(err)
	}
	if inv == nil {
		return flow.Deny("invitation.invalid", "This invitation is invalid or has expired.")
	}
	x.Plan.Context[flow.KeyInvitation] = inv.ID.String()
	x.Plan.Context[invitationInEffect] = true
	data := x.Plan.Context.PromptData()
	for k, v := range inv.FixedData {
		data[k] = v
	}
	return flow.Next()
}

// lookupInvitation returns the usable invitation for tok, or nil.
func lookupInvitation(ctx context.Context, x *flow.Execution, tok string) (*store.Invitation, error) {
	id, err := uuid.Parse(tok)
	if err != nil {
		return nil, nil
	}
	inv, err := x.Scope.Invitations().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !inv.Expires.IsZero() && !x.Env.Now().Before(inv.Expires) {
		return nil, nil
	}
	if inv.FlowSlug != "" && inv.FlowSlug != x.Flow.Slug {
		return nil, nil
	}
	return inv, nil
}

var errInvitationUsed = errors.New("invitation already used")

// useInvitation consumes a single-use invitation inside the user_write
// transaction: two sign-ups racing on one invitation cannot both succeed.
// It returns the invitation used (nil if none) for the caller to record
// after the transaction.
func useInvitation(ctx context.Context, x *flow.Execution, tx store.Scope) (*store.Invitation, error) {
	id := x.Plan.Context.String(flow.KeyInvitation)
	if id == "" {
		return nil, nil
	}
	inv, err := tx.Invitations().Get(ctx, uuid.MustParse(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvitationUsed
	}
	if err != nil {
		return nil, err
	}
	if inv.SingleUse {
		if err := tx.Invitations().Delete(ctx, inv.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, errInvitationUsed
			}
			return nil, err
		}
	}
	return inv, nil
}
