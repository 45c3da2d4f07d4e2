package oauth2

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// deviceFulfillment approves a device code for the flow's user once the
// authorization flow's own stages (consent) have passed.
type deviceFulfillment struct {
	s        *Service
	Device   uuid.UUID `json:"device"`
	ClientID string    `json:"client_id"`
}

// Denied records a refusal when the authorization flow is denied before
// the approval (the consent page's Deny, or a stage that refuses), so the
// device stops polling with access_denied instead of waiting for the code
// to expire. The flow's own access-denied page then tells the user.
func (f *deviceFulfillment) Denied(ctx context.Context, x *flow.Execution, reason string) (flow.Outcome, bool) {
	s := f.s
	c, err := s.byClientID(ctx, x.Scope, f.ClientID)
	if err != nil {
		return flow.Fail(err), true
	}
	a, err := f.pending(ctx, x, c)
	if err != nil {
		return flow.Fail(err), true
	}
	if a != nil && x.User != nil {
		if _, err := s.decideDevice(ctx, x.Scope, a, x.User, x.Session, false); err != nil {
			return flow.Fail(err), true
		}
	}
	s.event(stageRequest(ctx), x.Scope, "authorize_application", x.User, c, map[string]any{"authorized": false,
		"reason": reason, "flow": x.Flow.Slug, "grant_type": grantDeviceCode})
	return flow.Outcome{}, false
}

func (f *deviceFulfillment) Fulfil(ctx context.Context, x *flow.Execution) flow.Outcome {
	s := f.s
	c, err := s.byClientID(ctx, x.Scope, f.ClientID)
	if err != nil {
		return flow.Fail(err)
	}
	a, err := f.pending(ctx, x, c)
	if err != nil {
		return flow.Fail(err)
	}
	invalid := flow.Deny(i18n.DeviceCodeInvalid, msgCodeInvalid)
	if a == nil {
		return invalid
	}
	var d deviceData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		return flow.Fail(err)
	}
	ok, err := s.decideDevice(ctx, x.Scope, a, x.User, x.Session, true)
	if err != nil {
		return flow.Fail(err)
	}
	if !ok {
		return invalid
	}
	s.event(stageRequest(ctx), x.Scope, "authorize_application", x.User, c, map[string]any{"authorized": true,
		"scopes": d.Scopes, "flow": x.Flow.Slug, "grant_type": grantDeviceCode})
	x.Session.SetValue(deviceResultKey, deviceResult{App: c.app.Name, Approved: true})
	return flow.RedirectTo(devicePath)
}

// pending is the device code still waiting for this flow's answer, or nil:
// it may have expired, or been answered in another tab, while the user
// read the consent page.
func (f *deviceFulfillment) pending(ctx context.Context, x *flow.Execution, c *client) (*store.Artifact, error) {
	a, err := x.Scope.Artifacts().Get(ctx, f.Device)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if a.Kind != kindDevice || a.ProviderID != c.provider.ID || !a.Usable(f.s.Now()) {
		return nil, nil
	}
	return a, nil
}
