package stage

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/flow"
)

// deny ends the flow with a message.
type deny struct {
	DenyMessage string `json:"deny_message"`
}

func newDeny(cfg json.RawMessage) (flow.Stage, error) {
	s := &deny{}
	return s, decode(cfg, s)
}

func (s *deny) Challenge(context.Context, *flow.Execution) flow.Outcome {
	if s.DenyMessage == "" {
		return flow.Deny("flow.not_applicable", "You are not allowed to use this flow.")
	}
	return flow.Deny("", s.DenyMessage)
}

func (s *deny) Respond(ctx context.Context, x *flow.Execution, _ flow.Response) flow.Outcome {
	return s.Challenge(ctx, x)
}
