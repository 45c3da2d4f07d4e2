package stage

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

type identification struct {
	UserFields           []string `json:"user_fields"`
	PasswordStage        string   `json:"password_stage"`
	CaseInsensitiveMatch bool     `json:"case_insensitive_matching"`
	ShowMatchedUser      bool     `json:"show_matched_user"`
	PretendUserExists    bool     `json:"pretend_user_exists"`
	EnrollmentFlow       string   `json:"enrollment_flow"`
	RecoveryFlow         string   `json:"recovery_flow"`
	PasswordlessFlow     string   `json:"passwordless_flow"`
	EnableRememberMe     bool     `json:"enable_remember_me"`
}

func newIdentification(cfg json.RawMessage) (flow.Stage, error) {
	s := &identification{UserFields: []string{"email", "username"}, CaseInsensitiveMatch: true,
		ShowMatchedUser: true, PretendUserExists: true}
	if err := decode(cfg, s); err != nil {
		return nil, err
	}
	for _, f := range s.UserFields {
		if f != "email" && f != "username" && f != "upn" {
			return nil, store.Invalid("user_fields", "%q is not one of email, username, upn", f)
		}
	}
	if len(s.UserFields) == 0 {
		return nil, store.Invalid("user_fields", "must name at least one of email, username, upn")
	}
	return s, nil
}

func (s *identification) challenge(ctx context.Context, x *flow.Execution) *flow.IdentificationChallenge {
	c := &flow.IdentificationChallenge{Base: base(flow.ComponentIdentification), UserFields: s.UserFields,
		PasswordFields: s.PasswordStage != "", FlowDesignation: x.Flow.Designation, PrimaryAction: "Log in",
		EnableRememberMe: s.EnableRememberMe, UID: x.Plan.Context.String(flow.KeyPendingUserIdentifier)}
	if x.Flow.Designation == store.DesignationRecovery {
		c.PrimaryAction = "Continue"
	}
	// Sign-up and recovery links appear only when the stage names those
	// flows (the seed's "enable sign-up" step).
	c.EnrollURL = flowLink(ctx, x, s.EnrollmentFlow)
	c.RecoveryURL = flowLink(ctx, x, s.RecoveryFlow)
	c.PasswordlessURL = flowLink(ctx, x, s.PasswordlessFlow)
	if app := x.Plan.Context.String(flow.KeyApplicationName); app != "" {
		c.ApplicationPre = app
	}
	return c
}

// flowLink is the address of the flow with ID id ("" when id names no
// flow). It carries the flow's ?next= on, so someone who signs up or
// recovers their password from an application's login lands back in the
// application, as in Authentik.
func flowLink(ctx context.Context, x *flow.Execution, id string) string {
	if id == "" {
		return ""
	}
	slug := x.FlowSlugByID(ctx, id)
	if slug == "" {
		return ""
	}
	if x.Plan.Next != "" {
		return flow.FlowURL(slug) + "?next=" + url.QueryEscape(x.Plan.Next)
	}
	return flow.FlowURL(slug)
}

// recoveryURL is the "Forgot password?" link of this flow: the recovery
// flow its identification stage names. In Authentik the password stage
// links the brand's recovery flow; gatehouse has no brands, and a recovery
// flow is enabled by naming it in an identification stage, so the password
// stage links the one its own flow's identification stage names.
func recoveryURL(ctx context.Context, x *flow.Execution) string {
	for _, cfg := range x.FlowStages("identification") {
		var s struct {
			RecoveryFlow string `json:"recovery_flow"`
		}
		if json.Unmarshal(cfg, &s) != nil {
			continue
		}
		if u := flowLink(ctx, x, s.RecoveryFlow); u != "" {
			return u
		}
	}
	return ""
}

func (s *identification) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	return flow.Show(s.challenge(ctx, x))
}

func (s *identification) Respond(ctx context.Context, x *flow.Execution, r flow.Response) flow.Outcome {
	uid := strings.TrimSpace(r.String("uid_field"))
	c := s.challenge(ctx, x)
	c.UID = uid
	if uid == "" || len(uid) > store.MaxEmailLen {
		c.AddError("uid_field", "prompt.field_required", "This field is required.")
		return flow.Invalid(c)
	}
	u, err := s.find(ctx, x, uid)
	if err != nil {
		return flow.Fail(err)
	}
	x.Plan.Context[flow.KeyPendingUserIdentifier] = uid
	if s.ShowMatchedUser {
		delete(x.Plan.Context, flow.KeyHideMatchedUser)
	} else {
		x.Plan.Context[flow.KeyHideMatchedUser] = true
	}
	if s.PasswordStage != "" {
		pw, err := passwordStageConfig(ctx, x, s.PasswordStage)
		if err != nil {
			return flow.Fail(err)
		}
		res := checkPassword(ctx, x, pw, u, uid, r.String("password"))
		switch {
		case res.err != nil:
			return flow.Fail(res.err)
		case res.deny != "":
			return flow.Deny(res.deny, res.denyText)
		case !res.ok:
			c.AddErrorArgs(flow.NonFieldErrors, res.code, res.text, res.args)
			return flow.Invalid(c)
		}
		x.SetPendingUser(u)
		return flow.Next()
	}
	if u == nil {
		if !s.PretendUserExists {
			c.AddError(flow.NonFieldErrors, "stage.identification.failed", "Failed to authenticate.")
			return flow.Invalid(c)
		}
		// Unknown users continue like known ones; the password stage then
		// spends the same work and gives the same answer.
		x.SetPendingUser(nil)
		return flow.Next()
	}
	x.SetPendingUser(u)
	return flow.Next()
}

// find matches uid against the configured fields; the first field that
// matches wins. Every field is looked up whatever matched, so a known
// identifier costs the same queries as an unknown one. Inactive users are
// found too: the password stage answers for them like for a wrong
// password, so deactivation is not revealed either.
func (s *identification) find(ctx context.Context, x *flow.Execution, uid string) (*store.User, error) {
	users := x.Scope.Users()
	var found *store.User
	for _, f := range s.UserFields {
		var u *store.User
		var err error
		switch f {
		case "username", "upn":
			u, err = users.GetByUsername(ctx, uid)
			if err == nil && !s.CaseInsensitiveMatch && u.Username != uid {
				u, err = nil, store.ErrNotFound
			}
		case "email":
			if !strings.Contains(uid, "@") {
				continue
			}
			u, err = users.GetByEmail(ctx, uid)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		if err == nil && found == nil {
			found = u
		}
	}
	return found, nil
}
