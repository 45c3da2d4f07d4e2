package stage

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/flow"
)

// invitation admits only holders of a valid invitation (?itoken=) to an
// enrollment flow, and pre-fills their prompts with its fixed data. The
// user_write stage redeems it (flow.RedeemInvitation).
type invitation struct {
	ContinueFlowWithoutInvitation bool `json:"continue_flow_without_invitation"`
}

func newInvitation(cfg json.RawMessage) (flow.Stage, error) {
	s := &invitation{}
	return s, decode(cfg, s)
}

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
	inv, err := flow.LiveInvitation(ctx, x, tok)
	if err != nil {
		return flow.Fail(err)
	}
	if inv == nil {
		return flow.Deny("invitation.invalid", "This invitation is invalid or has expired.")
	}
	x.AdmitInvitation(inv)
	return flow.Next()
}
