package stage

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// email sends a one-time link; the flow continues in whichever browser
// opens it (verification after sign-up, password recovery).
type email struct {
	UseGlobalSettings     bool   `json:"use_global_settings"`
	TokenExpiry           string `json:"token_expiry"`
	Subject               string `json:"subject"`
	Template              string `json:"template"`
	ActivateUserOnSuccess bool   `json:"activate_user_on_success"`
	RecoveryMaxAttempts   int    `json:"recovery_max_attempts"`
	expiry                time.Duration
}

func newEmail(cfg json.RawMessage) (flow.Stage, error) {
	s := &email{UseGlobalSettings: true, TokenExpiry: "minutes=30", Subject: "gatehouse",
		Template: "email/password_reset.html", RecoveryMaxAttempts: 5}
	if err := decode(cfg, s); err != nil {
		return nil, err
	}
	d, err := duration("token_expiry", s.TokenExpiry)
	if err != nil {
		return nil, err
	}
	if d <= 0 || d > 30*24*time.Hour {
		return nil, store.Invalid("token_expiry", "must be between 1 second and 30 days")
	}
	s.expiry = d
	if mailTemplate(s.Template) == "" {
		return nil, store.Invalid("template", "must be email/password_reset.html or email/account_confirmation.html")
	}
	return s, nil
}

// mailTemplate maps Authentik's template names to ours.
func mailTemplate(t string) string {
	switch t {
	case "email/password_reset.html":
		return "password_reset"
	case "email/account_confirmation.html", "email/setup.html":
		return "email_verification"
	}
	return ""
}

const sentKey = "goauthentik.io/stages/email/sent"

// linkDelay holds the link's job back until the answer is long gone, so
// that its work for an account (the link, the mail) does not slow down the
// answer, which would tell that the account exists.
const linkDelay = time.Second

func (s *email) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	if n, _ := x.Plan.Context[sentKey].(float64); n > 0 {
		return flow.Show(s.challenge(ctx, x))
	}
	return s.send(ctx, x)
}

// Respond is "send the link again", bounded by recovery_max_attempts.
func (s *email) Respond(ctx context.Context, x *flow.Execution, _ flow.Response) flow.Outcome {
	if n, _ := x.Plan.Context[sentKey].(float64); s.RecoveryMaxAttempts > 0 && int(n) >= s.RecoveryMaxAttempts {
		c := s.challenge(ctx, x)
		c.AddError(flow.NonFieldErrors, "stage.email.too_many", "Too many emails sent, please try again later.")
		return flow.Invalid(c)
	}
	return s.send(ctx, x)
}

func (s *email) challenge(ctx context.Context, x *flow.Execution) *flow.EmailChallenge {
	c := &flow.EmailChallenge{Base: base(flow.ComponentEmail)}
	if _, addr := x.Shown(ctx); addr != "" {
		c.Address = maskEmail(addr)
	}
	return c
}

// send mails the link, unless that would be abuse or unsafe. A throttle
// or an unknown account shows the same page as a sent link, so nobody
// learns whether the account exists or was throttled. A host nobody
// configured ends the flow with a message instead, since no retry can
// help; it is decided before any account is looked up, so it too says
// nothing about accounts. The client IP's budget is spent first, which
// also bounds the configuration_error events one client can cause.
func (s *email) send(ctx context.Context, x *flow.Execution) flow.Outcome {
	n, _ := x.Plan.Context[sentKey].(float64)
	x.Plan.Context[sentKey] = n + 1
	if !x.Env.EmailIP.Allow(x.Client.IP) {
		s.throttled(ctx, x, "client IP")
		return flow.Show(s.challenge(ctx, x))
	}
	if _, ok := x.LinkURL("/"); !ok {
		x.UntrustedHost(ctx, "An email link ("+s.Template+")")
		return flow.Deny("stage.email.unavailable", "The email could not be sent. Please contact your administrator.")
	}
	u, err := x.PendingUser(ctx)
	if err != nil {
		return flow.Fail(err)
	}
	// Nobody to write to (an unknown user in recovery, with
	// pretend_user_exists) gets the same page (flow.Execution.Shown keeps
	// the address off it) after the same work: the job is queued all the
	// same and does nothing (EmailJobKind).
	to := uuid.Nil
	if u != nil && u.Email != "" && (u.IsActive || s.ActivateUserOnSuccess) {
		to = u.ID
	}
	if to != uuid.Nil && !x.Env.EmailAccount.Allow(x.Scope.TenantID().String()+"/"+to.String()) {
		// Throttled: the same page after the same work, the job sending
		// nothing.
		s.throttled(ctx, x, "account")
		to = uuid.Nil
	}
	// The link resumes a copy of the plan after this stage, starting with
	// a step that records the verified address.
	resumed := *x.Plan
	resumed.Bindings = append([]flow.Binding{{Kind: kindEmailVerified,
		Config: mustJSON(map[string]any{"activate": s.ActivateUserOnSuccess, "user": to.String()})}},
		x.Plan.Bindings[1:]...)
	resumed.Context = copyContext(x.Plan.Context)
	delete(resumed.Context, sentKey)
	plan, err := resumed.Encode()
	if err != nil {
		return flow.Fail(err)
	}
	flowURL, _ := x.LinkURL(flow.FlowURL(x.Flow.Slug))
	if x.Env.Jobs != nil {
		_, err := x.Env.Jobs.Enqueue(ctx, EmailJobKind, emailJob{User: to, Flow: x.Flow.Slug, Plan: plan,
			FlowURL: flowURL, Template: s.Template,
			Subject: s.Subject, Lang: x.Client.Lang, Expires: x.Env.Now().Add(s.expiry), ClientIP: x.Client.IP,
			UserAgent: x.Client.UserAgent}, job.Tenant(x.Scope.TenantID()), job.RunAt(x.Env.Now().Add(linkDelay)))
		if err != nil {
			return flow.Fail(err)
		}
	}
	return flow.Show(s.challenge(ctx, x))
}

// throttled logs a refused email (throttle.email_*): operators see mail
// bombing attempts, the user sees nothing different.
func (s *email) throttled(ctx context.Context, x *flow.Execution, by string) {
	if x.Env.Log != nil {
		x.Env.Log.WarnContext(ctx, "email stage: link not sent, throttled", "by", by, "client_ip", x.Client.IP,
			"flow", x.Flow.Slug, "request_id", x.Client.RequestID)
	}
}

func newKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func copyContext(c flow.Context) flow.Context {
	b, _ := json.Marshal(c)
	var out flow.Context
	json.Unmarshal(b, &out)
	return out
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// maskEmail shows enough of an address to recognise it: a***@example.com.
func maskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at < 1 {
		return ""
	}
	return e[:1] + "***" + e[at:]
}

// emailVerified is the first stage of a plan resumed from an emailed link:
// whoever opened the link proved they read that inbox.
type emailVerified struct {
	Activate bool   `json:"activate"`
	User     string `json:"user"`
}

const kindEmailVerified = "gatehouse_email_verified"

func newEmailVerified(cfg json.RawMessage) (flow.Stage, error) {
	s := &emailVerified{}
	return s, decode(cfg, s)
}

func (s *emailVerified) Respond(ctx context.Context, x *flow.Execution, _ flow.Response) flow.Outcome {
	return s.Challenge(ctx, x)
}

func (s *emailVerified) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	u, err := x.PendingUser(ctx)
	if err != nil {
		return flow.Fail(err)
	}
	if u == nil || u.ID.String() != s.User {
		return flow.Deny("link.invalid", "This link is invalid or has expired.")
	}
	u, err = x.Scope.Users().Update(ctx, u.ID, func(v *store.User) error {
		v.EmailVerified = true
		if s.Activate {
			v.IsActive = true
		}
		return nil
	})
	if err != nil {
		return flow.Fail(err)
	}
	x.SetPendingUser(u)
	x.Plan.Context[flow.KeyEmailVerified] = true
	return flow.Next()
}
