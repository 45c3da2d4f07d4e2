package flow

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/policy"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DefaultAuthenticationFlow is where a flow that needs a logged-in user
// sends an anonymous one.
const DefaultAuthenticationFlow = "default-authentication-flow"

// plan builds a new plan for x. When the flow does not apply it returns
// the result to show and done=true.
func (e *Executor) plan(ctx context.Context, x *Execution, req *Request, q url.Values) (Result, bool) {
	f := x.Flow
	next := SafeNext(q.Get("next"))
	x.Plan = &Plan{FlowID: f.ID, FlowSlug: f.Slug, Context: Context{}, Next: next, Created: e.env.Now()}
	for k, v := range req.Context {
		x.Plan.Context[k] = v
	}
	if t := q.Get(KeyInvitationToken); t != "" && len(t) <= 64 {
		x.Plan.Context[KeyInvitationToken] = t
	}
	if hint := q.Get("login_hint"); hint != "" && len(hint) <= 254 {
		x.Plan.Context[KeyPendingUserIdentifier] = hint
	}
	if f.Slug == "initial-setup" {
		if err := e.setupContext(ctx, x); err != nil {
			return e.fail(ctx, req, err), true
		}
	}

	switch f.Authentication {
	case "require_authenticated":
		if x.User == nil {
			to := FlowURL(DefaultAuthenticationFlow) + "?next=" + url.QueryEscape(x.flowSelfURL(q))
			return redirect(to), true
		}
	case "require_unauthenticated":
		if x.User != nil {
			if f.Designation == store.DesignationAuthentication {
				return redirect(orRoot(next)), true
			}
			return notApplicable(x, next, "flow.requires_unauthenticated", "You are already logged in."), true
		}
	case "require_superuser":
		ok := false
		if x.User != nil {
			var err error
			if ok, err = e.env.Core.IsSuperuser(ctx, x.Scope, x.User.ID); err != nil {
				return e.fail(ctx, req, err), true
			}
		}
		if !ok {
			return notApplicable(x, next, "flow.not_applicable", "You are not allowed to use this flow."), true
		}
	case "require_outpost":
		return notApplicable(x, next, "flow.not_applicable", "You are not allowed to use this flow."), true
	}
	// An authentication flow visited while logged in has nothing to do.
	if f.Designation == store.DesignationAuthentication && x.User != nil && f.Authentication == "none" {
		return redirect(orRoot(next)), true
	}

	closed, inv, err := e.closedToPublic(ctx, x, q)
	switch {
	case err != nil:
		return e.fail(ctx, req, err), true
	case closed:
		return deny(x, "flow.not_linked", "This flow is not enabled."), true
	case inv != nil:
		// The invitation opened the flow: it is in effect as if an
		// invitation stage had accepted it, and is redeemed with the user.
		x.AdmitInvitation(inv)
	}

	res := e.env.Policies.Evaluate(ctx, x.PolicyRequest(x.User), x.def.flowBindings(), x.def.policies,
		policy.Options{Mode: f.PolicyEngineMode, EmptyResult: true})
	if !res.Passing {
		msg := "You are not allowed to use this flow."
		if len(res.Messages) > 0 {
			msg = joinMessages(res.Texts())
		}
		return notApplicable(x, next, "flow.not_applicable", msg), true
	}

	for _, b := range x.def.bindings {
		if b.EvaluateOnPlan {
			binds, pols, err := x.def.policiesFor(ctx, x.Scope, b.ID)
			if err != nil {
				return e.fail(ctx, req, err), true
			}
			u, _ := x.PendingUser(ctx)
			r := e.env.Policies.Evaluate(ctx, x.PolicyRequest(u), binds, pols,
				policy.Options{Mode: b.PolicyEngineMode, EmptyResult: true})
			if !r.Passing {
				continue
			}
		}
		x.Plan.Bindings = append(x.Plan.Bindings, Binding{ID: b.ID, StageID: b.StageID, ReEvaluate: b.ReEvaluatePolicies,
			InvalidResponseAction: b.InvalidResponseAction, Checked: b.EvaluateOnPlan})
	}
	if len(x.Plan.Bindings) == 0 && len(req.Extra) == 0 && f.Designation != store.DesignationAuthorization &&
		f.Designation != store.DesignationInvalidation {
		return deny(x, "flow.empty", "This flow has no stages that apply to you."), true
	}
	return Result{}, false
}

// notApplicable answers a user the flow does not apply to (its policies
// refuse them, or its authentication requirement does), by the flow's
// denied_action, as Authentik's executor does: "continue" sends them on,
// to ?next= or else to /; "message_continue" (the default) sends them on to
// ?next= when the flow was given one and shows the message otherwise;
// "message" always shows the message.
//
// One exception to Authentik: message_continue shows the message when an
// anonymous user is refused a login flow. Every page that needs a login
// sends the user to the login flow with ?next= pointing back at itself, so
// continuing there would only come back here, in a redirect loop.
func notApplicable(x *Execution, next, code, msg string) Result {
	switch x.Flow.DeniedAction {
	case "continue":
		return redirect(orRoot(next))
	case "message_continue":
		loop := x.Flow.Designation == store.DesignationAuthentication && x.User == nil
		if next != "" && !loop {
			return redirect(next)
		}
	}
	return deny(x, code, msg)
}

// closedToPublic keeps sign-up and recovery shut until an admin opens
// them. The default enrollment and recovery flows exist in every tenant, but
// as in Authentik's walkthrough they are enabled by naming them in an
// identification stage ("Sign up" / "Forgot password?" links). Until then
// only an invitation opens an enrollment flow, and it is returned so that
// the plan puts it in effect. A flow with policies of its own is under the
// admin's explicit control and is not judged here.
func (e *Executor) closedToPublic(ctx context.Context, x *Execution, q url.Values) (bool, *store.Invitation, error) {
	d := x.Flow.Designation
	if d != store.DesignationEnrollment && d != store.DesignationRecovery {
		return false, nil, nil
	}
	if len(x.def.flowBindings()) > 0 {
		return false, nil, nil
	}
	id := x.Flow.ID.String()
	for page := 1; ; page++ {
		list, total, err := x.Scope.Stages().List(ctx, store.ObjectQuery{Kind: "identification",
			Page: store.Page{Number: page, Size: store.MaxPageSize}})
		if err != nil {
			return false, nil, err
		}
		for _, s := range list {
			var cfg struct {
				EnrollmentFlow string `json:"enrollment_flow"`
				RecoveryFlow   string `json:"recovery_flow"`
			}
			if json.Unmarshal(s.Config, &cfg) == nil && (cfg.EnrollmentFlow == id || cfg.RecoveryFlow == id) {
				return false, nil, nil
			}
		}
		if page*store.MaxPageSize >= total {
			break
		}
	}
	if d == store.DesignationEnrollment && q.Get(KeyInvitationToken) != "" {
		// Only a live invitation of this tenant (for this flow, if it names
		// one) opens the flow: any value at all would open sign-up to
		// everyone who adds ?itoken=x to the address.
		inv, err := LiveInvitation(ctx, x, q.Get(KeyInvitationToken))
		if err != nil || inv != nil {
			return false, inv, err
		}
	}
	return true, nil, nil
}

// restart plans the flow again after an invalid response, keeping the
// context when asked (restart_with_context).
func (e *Executor) restart(ctx context.Context, x *Execution, req *Request, q url.Values, keepContext bool) (Result, bool) {
	old := x.Plan.Context
	res, done := e.plan(ctx, x, req, q)
	if done {
		return res, true
	}
	if keepContext {
		x.Plan.Context = old
	}
	return Result{}, false
}

// setupContext prepares the initial-setup flow: it acts for akadmin, and
// its policy (default-oobe-password-usable) reads akadmin_password_usable,
// so the flow stops working once akadmin has a password.
func (e *Executor) setupContext(ctx context.Context, x *Execution) error {
	admin, err := x.Scope.Users().GetByUsername(ctx, core.AdminUsername)
	if errors.Is(err, store.ErrNotFound) {
		x.Plan.Context["akadmin_password_usable"] = true
		return nil
	}
	if err != nil {
		return err
	}
	x.SetPendingUser(admin)
	x.Plan.Context["akadmin_password_usable"] = admin.HasUsablePassword()
	return nil
}

func orRoot(next string) string {
	if next == "" {
		return "/"
	}
	return next
}

func joinMessages(m []string) string {
	out := ""
	for i, s := range m {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}
