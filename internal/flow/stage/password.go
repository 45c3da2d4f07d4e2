package stage

import (
	"context"
	"encoding/json"
	"errors"
	"math"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Backends as Authentik names them; app passwords are the token backend.
const (
	backendInbuilt = "authentik.core.auth.InbuiltBackend"
	backendToken   = "authentik.core.auth.TokenBackend"
)

type password struct {
	Backends                   []string `json:"backends"`
	FailedAttemptsBeforeCancel int      `json:"failed_attempts_before_cancel"`
	AllowShowPassword          bool     `json:"allow_show_password"`
}

func newPassword(cfg json.RawMessage) (flow.Stage, error) {
	p, err := decodePassword(cfg)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func decodePassword(cfg json.RawMessage) (*password, error) {
	p := &password{Backends: []string{backendInbuilt, backendToken}, FailedAttemptsBeforeCancel: 5}
	if err := decode(cfg, p); err != nil {
		return nil, err
	}
	if p.FailedAttemptsBeforeCancel < 0 {
		return nil, store.Invalid("failed_attempts_before_cancel", "must not be negative")
	}
	return p, nil
}

// passwordStageConfig loads the password stage an identification stage
// names for its inline password field.
func passwordStageConfig(ctx context.Context, x *flow.Execution, id string) (*password, error) {
	sid, err := uuid.Parse(id)
	if err != nil {
		return nil, store.Invalid("password_stage", "is not a stage ID")
	}
	obj, err := x.Scope.Stages().Get(ctx, sid)
	if err != nil {
		return nil, err
	}
	return decodePassword(obj.Config)
}

func (p *password) challenge(ctx context.Context, x *flow.Execution) *flow.PasswordChallenge {
	return &flow.PasswordChallenge{Base: base(flow.ComponentPassword), AllowShowPassword: p.AllowShowPassword,
		RecoveryURL: recoveryURL(ctx, x)}
}

func (p *password) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	return flow.Show(p.challenge(ctx, x))
}

func (p *password) Respond(ctx context.Context, x *flow.Execution, r flow.Response) flow.Outcome {
	u, err := x.PendingUser(ctx)
	if err != nil {
		return flow.Fail(err)
	}
	res := checkPassword(ctx, x, p, u, x.Plan.Context.String(flow.KeyPendingUserIdentifier), r.String("password"))
	switch {
	case res.err != nil:
		return flow.Fail(res.err)
	case res.deny != "":
		return flow.Deny(res.deny, res.denyText)
	case !res.ok:
		c := p.challenge(ctx, x)
		c.AddErrorArgs("password", res.code, res.text, res.args)
		return flow.Invalid(c)
	}
	return flow.Next()
}

type checkResult struct {
	ok             bool
	code, text     string
	args           map[string]any
	deny, denyText string
	err            error
}

const attemptsKey = "goauthentik.io/stages/password/attempts"

// checkPassword is the one password check of every flow (password stage
// and identification with an inline password). Unknown and inactive users
// cost the same hashing, the same lookups and get the same answer as a
// wrong password; every failure lowers the reputation of the account (by
// username, as Authentik keys it, or the name typed when none matched) and
// the client IP, and counts towards the stage's cancel limit. Attempts
// pass flow.LoginThrottle first.
func checkPassword(ctx context.Context, x *flow.Execution, p *password, u *store.User, identifier, plain string) checkResult {
	generic := checkResult{code: "stage.password.invalid", text: "Invalid username or password."}
	ip := x.Client.IP
	attempt, wait := x.Env.Login.Begin(x, u, identifier)
	if attempt == nil {
		args := map[string]any{"seconds": int(math.Ceil(wait.Seconds()))}
		return checkResult{code: i18n.PasswordRateLimited, text: i18n.T(i18n.EN, i18n.PasswordRateLimited, args), args: args}
	}
	ok := false
	method := "password"
	if plain != "" && len(plain) <= 1024 {
		if has(p.Backends, backendInbuilt) {
			var err error
			if ok, err = x.Env.Core.CheckPassword(ctx, x.Scope, usable(u), plain); err != nil {
				return checkResult{err: err}
			}
		}
		// The app-password lookup runs for unknown users too, so that it
		// costs every identifier the same.
		if !ok && has(p.Backends, backendToken) {
			t, tu, err := x.Env.Core.AuthenticateToken(ctx, x.Scope, plain, store.IntentAppPassword)
			if err != nil && !errors.Is(err, core.ErrBadToken) {
				return checkResult{err: err}
			}
			if err == nil && u != nil && tu.ID == u.ID {
				ok, method = true, "app_password"
				x.Plan.Context["auth_method_args"] = map[string]any{"token": t.Identifier}
			}
		}
	} else {
		x.Env.Core.CheckPassword(ctx, x.Scope, nil, "dummy") // same work as a real check
	}
	if ok && u.IsActive {
		x.Plan.Context[flow.KeyUserBackend] = p.backendFor(method)
		x.Plan.Context[flow.KeyAuthMethod] = method
		delete(x.Plan.Context, attemptsKey)
		attempt.Succeeded(x, u)
		return checkResult{ok: true}
	}
	if x.Env.ReputationExpiry > 0 {
		if err := x.Scope.Reputation().Adjust(ctx, reputationIdentifier(u, identifier), ip, -1, x.Env.ReputationLower,
			x.Env.ReputationUpper, x.Env.Now().Add(x.Env.ReputationExpiry)); err != nil {
			x.Env.Log.Warn("reputation update failed", "error", err)
		}
	}
	x.Event(ctx, "login_failed", u, map[string]any{"username": identifier, "stage": "password"})
	attempts, _ := x.Plan.Context[attemptsKey].(float64)
	attempts++
	x.Plan.Context[attemptsKey] = attempts
	if p.FailedAttemptsBeforeCancel > 0 && int(attempts) >= p.FailedAttemptsBeforeCancel {
		return checkResult{deny: "stage.password.too_many_attempts", denyText: "Too many failed attempts."}
	}
	return generic
}

// reputationIdentifier is the identifier reputation scores are kept
// under: the account's username, which the reputation policy reads for a
// known user, so a failure typed as an email counts against the same score;
// what was typed when no account matched.
func reputationIdentifier(u *store.User, typed string) string {
	if u != nil {
		return u.Username
	}
	return typed
}

func (p *password) backendFor(method string) string {
	if method == "app_password" {
		return backendToken
	}
	return backendInbuilt
}

// usable hides a missing or inactive user behind the same dummy hashing.
func usable(u *store.User) *store.User {
	if u == nil || !u.IsActive {
		return nil
	}
	return u
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
