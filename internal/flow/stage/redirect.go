package stage

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// redirect sends the user to a URL or another flow.
type redirect struct {
	Mode         string `json:"mode"`
	TargetStatic string `json:"target_static"`
	TargetFlow   string `json:"target_flow"`
	KeepContext  bool   `json:"keep_context"`
}

func newRedirect(cfg json.RawMessage) (flow.Stage, error) {
	s := &redirect{Mode: "static", KeepContext: true}
	if err := decode(cfg, s); err != nil {
		return nil, err
	}
	switch s.Mode {
	case "static":
		u, err := url.Parse(s.TargetStatic)
		if s.TargetStatic == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https" && !strings.HasPrefix(s.TargetStatic, "/")) {
			return nil, store.Invalid("target_static", "must be an http(s) URL or a path")
		}
	case "flow":
		if _, err := uuid.Parse(s.TargetFlow); err != nil {
			return nil, store.Invalid("target_flow", "is not a flow ID")
		}
	default:
		return nil, store.Invalid("mode", "must be static or flow")
	}
	return s, nil
}

func (s *redirect) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	if s.Mode == "static" {
		return flow.RedirectTo(s.TargetStatic)
	}
	slug := x.FlowSlugByID(ctx, s.TargetFlow)
	if slug == "" {
		return flow.Fail(errors.New("redirect stage: target flow does not exist"))
	}
	to := flow.FlowURL(slug)
	if x.Plan.Next != "" {
		to += "?next=" + url.QueryEscape(x.Plan.Next)
	}
	return flow.RedirectTo(to)
}

func (s *redirect) Respond(ctx context.Context, x *flow.Execution, _ flow.Response) flow.Outcome {
	return s.Challenge(ctx, x)
}
