package stage

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// consent asks the user to allow an application access, and remembers the
// answer (mode permanent or expiring) per user and application.
type consent struct {
	Mode            string `json:"mode"`
	ConsentExpireIn string `json:"consent_expire_in"`
	expireIn        time.Duration
}

func newConsent(cfg json.RawMessage) (flow.Stage, error) {
	s := &consent{Mode: "expiring", ConsentExpireIn: "weeks=4"}
	if err := decode(cfg, s); err != nil {
		return nil, err
	}
	switch s.Mode {
	case "always_require", "permanent", "expiring":
	default:
		return nil, store.Invalid("mode", "must be always_require, permanent or expiring")
	}
	d, err := duration("consent_expire_in", s.ConsentExpireIn)
	if err != nil {
		return nil, err
	}
	s.expireIn = d
	return s, nil
}

const consentTokenKey = "goauthentik.io/stages/consent/token"

func (s *consent) permissions(x *flow.Execution) []flow.ConsentPermission {
	var out []flow.ConsentPermission
	raw, _ := json.Marshal(x.Plan.Context[flow.KeyConsentPermissions])
	json.Unmarshal(raw, &out)
	return out
}

func (s *consent) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	u, err := x.PendingUser(ctx)
	if err != nil {
		return flow.Fail(err)
	}
	target := x.Plan.Context.String(flow.KeyConsentTarget)
	perms := s.permissions(x)
	var missing []flow.ConsentPermission
	if s.Mode != "always_require" && u != nil && target != "" {
		c, err := x.Scope.Consents().Get(ctx, u.ID, target, x.Env.Now())
		if err == nil {
			for _, p := range perms {
				if !has(c.Permissions, p.ID) {
					missing = append(missing, p)
				}
			}
			if len(missing) == 0 {
				return flow.Next()
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return flow.Fail(err)
		}
	}
	tok := newKey()
	x.Plan.Context[consentTokenKey] = tok
	header := x.Plan.Context.String(flow.KeyConsentHeader)
	if header == "" {
		header = "The application would like to access your account."
	}
	c := &flow.ConsentChallenge{Base: base(flow.ComponentConsent), HeaderText: header, Token: tok, Permissions: perms,
		Application: x.Plan.Context.String(flow.KeyApplicationName)}
	if len(missing) > 0 {
		c.Permissions, c.AdditionalPermissions = nil, missing
		for _, p := range perms {
			if !containsPerm(missing, p.ID) {
				c.Permissions = append(c.Permissions, p)
			}
		}
	}
	return flow.Show(c)
}

func containsPerm(ps []flow.ConsentPermission, id string) bool {
	for _, p := range ps {
		if p.ID == id {
			return true
		}
	}
	return false
}

func (s *consent) Respond(ctx context.Context, x *flow.Execution, r flow.Response) flow.Outcome {
	want := x.Plan.Context.String(consentTokenKey)
	got := r.String("token")
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return s.Challenge(ctx, x)
	}
	delete(x.Plan.Context, consentTokenKey)
	if r.Bool("deny") {
		return flow.Deny("consent.denied", "You denied access to the application.")
	}
	u, err := x.PendingUser(ctx)
	if err != nil {
		return flow.Fail(err)
	}
	target := x.Plan.Context.String(flow.KeyConsentTarget)
	if s.Mode != "always_require" && u != nil && target != "" {
		c := &store.Consent{UserID: u.ID, Target: target}
		for _, p := range s.permissions(x) {
			c.Permissions = append(c.Permissions, p.ID)
		}
		if s.Mode == "expiring" {
			c.Expires = x.Env.Now().Add(s.expireIn)
		}
		if err := x.Scope.Consents().Put(ctx, c); err != nil {
			return flow.Fail(err)
		}
	}
	return flow.Next()
}
