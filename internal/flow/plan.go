package flow

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Plan is a flow in progress: the stages still to run and what earlier
// stages learned. It lives in the session (and, paused behind an emailed
// link, in a flow token), so every replica can continue it.
type Plan struct {
	FlowID   uuid.UUID `json:"flow_id"`
	FlowSlug string    `json:"flow_slug"`
	// Bindings are the stages still to run; the first is current.
	Bindings []Binding `json:"bindings"`
	Context  Context   `json:"context"`
	// Next is where to go when the flow ends (a path on this server).
	Next    string    `json:"next,omitempty"`
	Created time.Time `json:"created"`
	// Submitted marks a plan saved by a form's post-redirect-get: the GET
	// that follows is still the navigation the form started.
	Submitted bool `json:"submitted,omitempty"`
}

// Binding is one planned stage.
type Binding struct {
	// ID is the flow stage binding; Nil for stages injected in memory
	// (consent for prompt=consent, OAuth fulfillment).
	ID      uuid.UUID `json:"id,omitzero"`
	StageID uuid.UUID `json:"stage_id,omitzero"`
	// Kind and Config describe in-memory stages; stored stages are loaded by StageID.
	Kind                  string          `json:"kind,omitempty"`
	Config                json.RawMessage `json:"config,omitempty"`
	ReEvaluate            bool            `json:"re_evaluate,omitempty"`
	InvalidResponseAction string          `json:"invalid_response_action,omitempty"`
	// Checked records that re-evaluation already passed, so a retried
	// stage is not judged again on every attempt.
	Checked bool `json:"checked,omitempty"`
}

// Context is the plan context, with Authentik's key names (expression
// policies read them): pending_user, prompt_data, redirect, application,
// is_sso, invitation, ...
type Context map[string]any

// Context keys used by more than one stage.
const (
	KeyPendingUser           = "pending_user" // user ID as a string
	KeyPendingUserIdentifier = "pending_user_identifier"
	KeyPromptData            = "prompt_data"
	KeyRedirect              = "redirect"
	KeyApplication           = "application"
	KeyApplicationName       = "application_name"
	KeyIsSSO                 = "is_sso"
	KeyInvitation            = "invitation"
	KeyInvitationToken       = "itoken"
	KeyAuthMethod            = "auth_method"
	KeyUserBackend           = "user_backend"
	KeyEmailVerified         = "email_verified"
	KeyConsentHeader         = "consent_header"
	KeyConsentPermissions    = "consent_permissions"
	KeyConsentTarget         = "consent_target"
	// KeyLogoutRequest says an application asked for the logout
	// (RP-Initiated Logout): LogoutVerified with an ID token of this very
	// session, so it speaks for the session and the user need not
	// confirm; LogoutUnverified without one, so the user must.
	KeyLogoutRequest = "logout_request"
)

// Values of KeyLogoutRequest.
const (
	LogoutVerified   = "verified"
	LogoutUnverified = "unverified"
)

// KeyHideMatchedUser is set by an identification stage whose
// show_matched_user is off: pages then show what was typed, never the
// matched account (Execution.Shown).
const KeyHideMatchedUser = "goauthentik.io/stages/identification/hide_matched_user"

// String returns a string value, or "".
func (c Context) String(key string) string {
	s, _ := c[key].(string)
	return s
}

// Bool returns a boolean value, or false.
func (c Context) Bool(key string) bool {
	b, _ := c[key].(bool)
	return b
}

// PromptData returns the values prompts collected (created on first use).
func (c Context) PromptData() map[string]any {
	m, ok := c[KeyPromptData].(map[string]any)
	if !ok {
		m = map[string]any{}
		c[KeyPromptData] = m
	}
	return m
}

// Current is the stage that runs now, or nil when the plan is finished.
func (p *Plan) Current() *Binding {
	if len(p.Bindings) == 0 {
		return nil
	}
	return &p.Bindings[0]
}

// Pop finishes the current stage.
func (p *Plan) Pop() {
	if len(p.Bindings) > 0 {
		p.Bindings = p.Bindings[1:]
	}
}

// Insert puts a stage right after the current one (e.g. a consent stage for
// prompt=consent, the OAuth fulfillment at the end).
func (p *Plan) Append(b Binding) { p.Bindings = append(p.Bindings, b) }

// Encode serializes the plan for the session or a flow token.
func (p *Plan) Encode() (json.RawMessage, error) { return json.Marshal(p) }

// DecodePlan reads a plan; nil on malformed input (the flow restarts).
func DecodePlan(b []byte) *Plan {
	if len(b) == 0 {
		return nil
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil
	}
	if p.Context == nil {
		p.Context = Context{}
	}
	return &p
}

// SafeNext accepts only a path on this server, so ?next= cannot send a
// user to another site after login (open redirect).
func SafeNext(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}
