package stage

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/flow"
)

// dummy shows a continue button (for testing flows).
type dummy struct {
	ThrowError bool `json:"throw_error"`
}

func newDummy(cfg json.RawMessage) (flow.Stage, error) {
	s := &dummy{}
	return s, decode(cfg, s)
}

func (s *dummy) Challenge(context.Context, *flow.Execution) flow.Outcome {
	if s.ThrowError {
		return flow.Fail(errors.New("dummy stage: throw_error is set"))
	}
	return flow.Show(&flow.DummyChallenge{Base: base(flow.ComponentDummy)})
}

func (s *dummy) Respond(context.Context, *flow.Execution, flow.Response) flow.Outcome {
	return flow.Next()
}
