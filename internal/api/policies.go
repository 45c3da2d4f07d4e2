package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Policies at Authentik's paths (policies/<kind>/), one resource per kind
// (see objects.go), the bindings that attach policies, groups and users to
// flows, stage bindings and applications, and Authentik's "test this
// policy against a user".

// policyBase is what every kind of policy shows before its settings (see
// stageBase).
type policyBase struct {
	PK               uuid.UUID `json:"pk"`
	Name             string    `json:"name"`
	ExecutionLogging bool      `json:"execution_logging"`
	kindNames
	objectMeta `json:"-"`
}

// Policy is any policy, as policies/all/ lists them (Authentik's
// PolicySerializer, without bound_to): policyBase, with a description.
type Policy struct {
	PK               uuid.UUID `json:"pk"`
	Name             string    `json:"name"`
	ExecutionLogging bool      `json:"execution_logging" doc:"record a policy_execution event for every evaluation"`
	kindNames
	objectMeta `json:"-"`
}

// ExpressionPolicy runs a Python-syntax (Starlark) expression.
type ExpressionPolicy struct {
	policyBase
	Expression string `json:"expression"`
}

type ExpressionPolicyRequest struct {
	Name             *string `json:"name,omitempty"`
	ExecutionLogging *bool   `json:"execution_logging,omitempty"`
	Expression       *string `json:"expression,omitempty"`
}

// PasswordPolicy checks the password a prompt collected. Authentik's
// check_have_i_been_pwned is check_common_passwords here: an offline list.
// Its fields are pwpolicy.Config's, written out: embedding Config would
// promote its UnmarshalJSON, which would then decode the whole object and
// skip policyBase.
type PasswordPolicy struct {
	policyBase
	PasswordField        string `json:"password_field"`
	CheckStaticRules     bool   `json:"check_static_rules"`
	CheckZxcvbn          bool   `json:"check_zxcvbn"`
	ZxcvbnScoreThreshold int    `json:"zxcvbn_score_threshold"`
	CheckCommonPasswords bool   `json:"check_common_passwords"`
	LengthMin            int    `json:"length_min"`
	AmountDigits         int    `json:"amount_digits"`
	AmountUppercase      int    `json:"amount_uppercase"`
	AmountLowercase      int    `json:"amount_lowercase"`
	AmountSymbols        int    `json:"amount_symbols"`
	SymbolCharset        string `json:"symbol_charset"`
	ErrorMessage         string `json:"error_message"`
}

type PasswordPolicyRequest struct {
	Name                 *string `json:"name,omitempty"`
	ExecutionLogging     *bool   `json:"execution_logging,omitempty"`
	PasswordField        *string `json:"password_field,omitempty"`
	CheckStaticRules     *bool   `json:"check_static_rules,omitempty"`
	CheckZxcvbn          *bool   `json:"check_zxcvbn,omitempty"`
	ZxcvbnScoreThreshold *int    `json:"zxcvbn_score_threshold,omitempty"`
	CheckCommonPasswords *bool   `json:"check_common_passwords,omitempty"`
	LengthMin            *int    `json:"length_min,omitempty"`
	AmountDigits         *int    `json:"amount_digits,omitempty"`
	AmountUppercase      *int    `json:"amount_uppercase,omitempty"`
	AmountLowercase      *int    `json:"amount_lowercase,omitempty"`
	AmountSymbols        *int    `json:"amount_symbols,omitempty"`
	SymbolCharset        *string `json:"symbol_charset,omitempty"`
	ErrorMessage         *string `json:"error_message,omitempty"`
}

// ReputationPolicy passes when the score is at or below the threshold
// (it detects bad reputation, as Authentik's does).
type ReputationPolicy struct {
	policyBase
	CheckIP       bool `json:"check_ip"`
	CheckUsername bool `json:"check_username"`
	Threshold     int  `json:"threshold"`
}

type ReputationPolicyRequest struct {
	Name             *string `json:"name,omitempty"`
	ExecutionLogging *bool   `json:"execution_logging,omitempty"`
	CheckIP          *bool   `json:"check_ip,omitempty"`
	CheckUsername    *bool   `json:"check_username,omitempty"`
	Threshold        *int    `json:"threshold,omitempty"`
}

// PasswordExpiryPolicy fails when the password is older than days.
type PasswordExpiryPolicy struct {
	policyBase
	Days     int  `json:"days"`
	DenyOnly bool `json:"deny_only" doc:"only deny; otherwise also make the password unusable"`
}

type PasswordExpiryPolicyRequest struct {
	Name             *string `json:"name,omitempty"`
	ExecutionLogging *bool   `json:"execution_logging,omitempty"`
	Days             *int    `json:"days,omitempty"`
	DenyOnly         *bool   `json:"deny_only,omitempty"`
}

// DummyPolicy returns a fixed result after a random wait, for testing.
type DummyPolicy struct {
	policyBase
	Result  bool `json:"result"`
	WaitMin int  `json:"wait_min"`
	WaitMax int  `json:"wait_max"`
}

type DummyPolicyRequest struct {
	Name             *string `json:"name,omitempty"`
	ExecutionLogging *bool   `json:"execution_logging,omitempty"`
	Result           *bool   `json:"result,omitempty"`
	WaitMin          *int    `json:"wait_min,omitempty"`
	WaitMax          *int    `json:"wait_max,omitempty"`
}

func (a *API) registerPolicies() {
	f := policyFamily
	Register(a, readOnly(objects[Policy, struct{}](a, f, "", "policies/all/", "policies")))
	Register(a, objects[ExpressionPolicy, ExpressionPolicyRequest](a, f, "expression", "policies/expression/", "policies", "name", "expression"))
	Register(a, objects[PasswordPolicy, PasswordPolicyRequest](a, f, "password", "policies/password/", "policies", "name"))
	Register(a, objects[ReputationPolicy, ReputationPolicyRequest](a, f, "reputation", "policies/reputation/", "policies", "name"))
	Register(a, objects[PasswordExpiryPolicy, PasswordExpiryPolicyRequest](a, f, "password_expiry", "policies/password_expiry/", "policies", "name"))
	Register(a, objects[DummyPolicy, DummyPolicyRequest](a, f, "dummy", "policies/dummy/", "policies", "name"))
	Action(a, http.MethodPost, "policies/all/{id}/test/", "policies", "policies_all_test_create",
		"Evaluate a policy against a user", "authentik_policies.view_policy", http.StatusOK, a.testPolicy)
}

// PolicyTestRequest is Authentik's PolicyTestSerializer.
type PolicyTestRequest struct {
	User    *uuid.UUID      `json:"user" doc:"the user the policy judges"`
	Context *map[string]any `json:"context" doc:"request.context for the policy"`
}

// PolicyTestResult is Authentik's PolicyTestResultSerializer.
type PolicyTestResult struct {
	Passing     bool         `json:"passing"`
	Messages    []string     `json:"messages"`
	LogMessages []LogMessage `json:"log_messages"`
}

// LogMessage is a log line of a policy test (Authentik's LogEventSerializer).
type LogMessage struct {
	Timestamp  time.Time      `json:"timestamp"`
	LogLevel   string         `json:"log_level" enum:"debug,info,warning,error"`
	Logger     string         `json:"logger"`
	Event      string         `json:"event"`
	Attributes map[string]any `json:"attributes"`
}

// testPolicy runs a policy for a user with the caller's HTTP request, as
// Authentik's test does. An exception fails the test and is shown, not
// hidden behind a binding's failure result.
func (a *API) testPolicy(ctx context.Context, c *Caller, r *http.Request, in *PolicyTestRequest) (*PolicyTestResult, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	p, err := c.Scope.Policies().Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if in.User == nil {
		return nil, store.Invalid("user", "this field is required")
	}
	u, err := c.Scope.Users().Get(ctx, *in.User)
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.Invalid("user", "no user with ID %s exists", *in.User)
	} else if err != nil {
		return nil, err
	}
	if a.Policies == nil {
		return nil, Errorf(http.StatusServiceUnavailable, "policies cannot be evaluated here")
	}
	pctx := map[string]any{}
	if in.Context != nil && *in.Context != nil {
		pctx = *in.Context
	}
	info := httpx.From(ctx)
	req := &policy.Request{Scope: c.Scope, User: u, Context: pctx, HTTP: &policy.HTTPRequest{Method: r.Method, Path: r.URL.Path,
		Host: info.Host, ClientIP: info.ClientIP, UserAgent: r.UserAgent()}}
	res, err := a.Policies.Test(ctx, req, p)
	out := &PolicyTestResult{Passing: res.Passing, Messages: res.Texts(), LogMessages: []LogMessage{}}
	if err != nil {
		out.Passing = false
		out.LogMessages = append(out.LogMessages, LogMessage{Timestamp: a.now(), LogLevel: "error", Logger: "gatehouse.policy",
			Event: "Policy raised an exception", Attributes: map[string]any{"policy": p.Name, "error": err.Error()}})
	}
	return out, nil
}

func (a *API) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// PolicyBinding attaches a policy, a group or a user to a target (Authentik's
// PolicyBindingSerializer, without the *_obj copies).
type PolicyBinding struct {
	PK            uuid.UUID     `json:"pk"`
	Policy        uuid.NullUUID `json:"policy"`
	Group         uuid.NullUUID `json:"group"`
	User          uuid.NullUUID `json:"user"`
	Target        uuid.UUID     `json:"target" doc:"a flow, a flow stage binding or an application"`
	Negate        bool          `json:"negate"`
	Enabled       bool          `json:"enabled"`
	Order         int           `json:"order"`
	Timeout       int           `json:"timeout" doc:"seconds"`
	FailureResult bool          `json:"failure_result" doc:"the result when the policy raises an exception"`
	version       int64
}

func (b PolicyBinding) Meta() Meta { return Meta{ID: b.PK, Version: b.version} }

// PolicyBindingRequest sets exactly one of policy, group and user.
type PolicyBindingRequest struct {
	Policy        *uuid.NullUUID `json:"policy,omitempty"`
	Group         *uuid.NullUUID `json:"group,omitempty"`
	User          *uuid.NullUUID `json:"user,omitempty"`
	Target        *uuid.UUID     `json:"target,omitempty"`
	Negate        *bool          `json:"negate,omitempty"`
	Enabled       *bool          `json:"enabled,omitempty"`
	Order         *int           `json:"order,omitempty"`
	Timeout       *int           `json:"timeout,omitempty"`
	FailureResult *bool          `json:"failure_result,omitempty"`
}

func policyBindingOut(b *store.PolicyBinding) PolicyBinding {
	return PolicyBinding{PK: b.ID, Policy: b.PolicyID, Group: b.GroupID, User: b.UserID, Target: b.TargetID, Negate: b.Negate,
		Enabled: b.Enabled, Order: b.Order, Timeout: int(b.Timeout / time.Second), FailureResult: b.FailureResult, version: b.Version}
}

func (a *API) registerPolicyBindings() {
	Register(a, Resource[PolicyBinding, PolicyBindingRequest]{
		Path: "policies/bindings/", Tag: "policies", Model: "authentik_policies.policybinding",
		Required: []string{"target", "order"}, Ordering: []string{"order"},
		Filters: []Param{{Name: "target", Description: "the bound object's ID (required: bindings are listed per target)"}},
		List: func(ctx context.Context, c *Caller, q Query) ([]PolicyBinding, int, error) {
			target, err := filterID(q, "target", true)
			if err != nil {
				return nil, 0, err
			}
			list, err := c.Scope.PolicyBindings().ListForTargets(ctx, target)
			if err != nil {
				return nil, 0, err
			}
			out := make([]PolicyBinding, len(list))
			for i, b := range list {
				out[i] = policyBindingOut(b)
			}
			return pageOf(out, q, func(b PolicyBinding) int { return b.Order }), len(out), nil
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (PolicyBinding, error) {
			b, err := c.Scope.PolicyBindings().Get(ctx, id)
			if err != nil {
				return PolicyBinding{}, err
			}
			return policyBindingOut(b), nil
		},
		Create: func(ctx context.Context, c *Caller, in *PolicyBindingRequest) (PolicyBinding, error) {
			v, err := values(in)
			if err != nil {
				return PolicyBinding{}, err
			}
			b := blueprint.NewPolicyBinding()
			if err := blueprint.ApplyPolicyBinding(b, v); err != nil {
				return PolicyBinding{}, err
			}
			if err := blueprint.CheckPolicyBinding(ctx, c.Scope, b); err != nil {
				return PolicyBinding{}, err
			}
			if err := c.Scope.PolicyBindings().Create(ctx, b); err != nil {
				return PolicyBinding{}, err
			}
			return policyBindingOut(b), nil
		},
		Update: func(ctx context.Context, c *Caller, id uuid.UUID, version int64, in *PolicyBindingRequest) (PolicyBinding, error) {
			v, err := values(in)
			if err != nil {
				return PolicyBinding{}, err
			}
			b, err := c.Scope.PolicyBindings().Update(ctx, id, func(b *store.PolicyBinding) error {
				if err := checkVersion(version, b.Version); err != nil {
					return err
				}
				if err := blueprint.ApplyPolicyBinding(b, v); err != nil {
					return err
				}
				return blueprint.CheckPolicyBinding(ctx, c.Scope, b)
			})
			if err != nil {
				return PolicyBinding{}, err
			}
			return policyBindingOut(b), nil
		},
		Delete: func(ctx context.Context, c *Caller, id uuid.UUID) error {
			return c.Scope.PolicyBindings().Delete(ctx, id)
		},
	})
}
