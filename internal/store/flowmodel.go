package store

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Flow designations, as Authentik's.
const (
	DesignationAuthentication     = "authentication"
	DesignationAuthorization      = "authorization"
	DesignationInvalidation       = "invalidation"
	DesignationEnrollment         = "enrollment"
	DesignationUnenrollment       = "unenrollment"
	DesignationRecovery           = "recovery"
	DesignationStageConfiguration = "stage_configuration"
)

var (
	designations    = []string{DesignationAuthentication, DesignationAuthorization, DesignationInvalidation, DesignationEnrollment, DesignationUnenrollment, DesignationRecovery, DesignationStageConfiguration}
	authentications = []string{"none", "require_authenticated", "require_unauthenticated", "require_superuser", "require_redirect", "require_outpost"}
	deniedActions   = []string{"message_continue", "message", "continue"}
	layouts         = []string{"stacked", "content_left", "content_right", "sidebar_left", "sidebar_right", "sidebar_left_frame_background", "sidebar_right_frame_background"}
	engineModes     = []string{"any", "all"}
	invalidActions  = []string{"retry", "restart", "restart_with_context"}
	flowSlugRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,99}$`)
)

// Flow is an ordered list of stages a user walks through.
type Flow struct {
	ID               uuid.UUID
	Slug             string
	Name             string
	Title            string
	Designation      string
	Authentication   string
	DeniedAction     string
	Layout           string
	Background       string
	PolicyEngineMode string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Version          int64
}

func oneOf(v *ValidationError, field, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		v.Add(field, "must be one of %s", strings.Join(allowed, ", "))
	}
}

// Normalize fills Authentik's defaults.
func (f *Flow) Normalize() {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&f.Authentication, "none")
	def(&f.DeniedAction, "message_continue")
	def(&f.Layout, "stacked")
	def(&f.PolicyEngineMode, "any")
	if f.Title == "" {
		f.Title = f.Name
	}
}

// Validate checks every field and reports all problems at once.
func (f *Flow) Validate() error {
	v := &ValidationError{}
	if !flowSlugRE.MatchString(f.Slug) {
		v.Add("slug", "must be 1 to 100 lower-case letters, digits, - or _")
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(f.Name)); n == 0 || n > 256 {
		v.Add("name", "must be 1 to 256 characters")
	}
	if utf8.RuneCountInString(f.Title) > 256 {
		v.Add("title", "must be at most 256 characters")
	}
	oneOf(v, "designation", f.Designation, designations)
	oneOf(v, "authentication", f.Authentication, authentications)
	oneOf(v, "denied_action", f.DeniedAction, deniedActions)
	oneOf(v, "layout", f.Layout, layouts)
	oneOf(v, "policy_engine_mode", f.PolicyEngineMode, engineModes)
	if len(f.Background) > 2048 {
		v.Add("background", "must be at most 2048 characters")
	}
	return v.Err()
}

// Object is the shared shape of stages, policies and prompts: a named,
// typed piece of configuration. The kind's package decodes Config.
type Object struct {
	ID        uuid.UUID
	Name      string
	Kind      string
	Config    json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// MaxConfigLen bounds an object's configuration (expressions included).
const MaxConfigLen = 256 << 10

var kindRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// Validate checks the shared fields; each kind validates its own config.
func (o *Object) Validate() error {
	v := &ValidationError{}
	if n := utf8.RuneCountInString(strings.TrimSpace(o.Name)); n == 0 || n > 256 {
		v.Add("name", "must be 1 to 256 characters")
	}
	if !kindRE.MatchString(o.Kind) {
		v.Add("kind", "is not a known kind")
	}
	if len(o.Config) > 0 {
		ValidateJSON(v, "config", o.Config, MaxConfigLen)
	}
	return v.Err()
}

// FlowStageBinding places a stage in a flow.
type FlowStageBinding struct {
	ID                    uuid.UUID
	FlowID                uuid.UUID
	StageID               uuid.UUID
	Order                 int
	EvaluateOnPlan        bool
	ReEvaluatePolicies    bool
	PolicyEngineMode      string
	InvalidResponseAction string
	CreatedAt             time.Time
	Version               int64
}

// Validate checks every field and reports all problems at once.
func (b *FlowStageBinding) Validate() error {
	v := &ValidationError{}
	if b.FlowID == uuid.Nil {
		v.Add("target", "is required")
	}
	if b.StageID == uuid.Nil {
		v.Add("stage", "is required")
	}
	oneOf(v, "policy_engine_mode", b.PolicyEngineMode, engineModes)
	oneOf(v, "invalid_response_action", b.InvalidResponseAction, invalidActions)
	return v.Err()
}

// PolicyBinding attaches a policy, a group or a user to a target (flow,
// stage binding, application, source). Exactly one of the three is set.
type PolicyBinding struct {
	ID            uuid.UUID
	TargetID      uuid.UUID
	PolicyID      uuid.NullUUID
	GroupID       uuid.NullUUID
	UserID        uuid.NullUUID
	Order         int
	Enabled       bool
	Negate        bool
	Timeout       time.Duration
	FailureResult bool
	CreatedAt     time.Time
	Version       int64
}

// Validate checks every field and reports all problems at once.
func (b *PolicyBinding) Validate() error {
	v := &ValidationError{}
	if b.TargetID == uuid.Nil {
		v.Add("target", "is required")
	}
	n := 0
	for _, x := range []uuid.NullUUID{b.PolicyID, b.GroupID, b.UserID} {
		if x.Valid {
			n++
		}
	}
	if n != 1 {
		v.Add("policy", "exactly one of policy, group or user must be set")
	}
	if b.Timeout < 0 || b.Timeout > time.Hour {
		v.Add("timeout", "must be between 0 and 3600 seconds")
	}
	return v.Err()
}

// Invitation admits a user to an enrollment flow.
type Invitation struct {
	ID        uuid.UUID
	Name      string
	FlowSlug  string // "" for any enrollment flow
	SingleUse bool
	CreatedBy uuid.NullUUID
	FixedData map[string]any
	Expires   time.Time // zero: never
	CreatedAt time.Time
}

// Validate checks every field and reports all problems at once.
func (i *Invitation) Validate() error {
	v := &ValidationError{}
	if !flowSlugRE.MatchString(i.Name) {
		v.Add("name", "must be 1 to 100 lower-case letters, digits, - or _")
	}
	if i.FlowSlug != "" && !flowSlugRE.MatchString(i.FlowSlug) {
		v.Add("flow", "is not a flow slug")
	}
	validAttributes(v, "fixed_data", i.FixedData)
	return v.Err()
}

// FlowToken resumes a paused plan from a link (email verification, recovery).
type FlowToken struct {
	ID        uuid.UUID
	KeyHash   []byte
	FlowSlug  string
	Plan      []byte
	Expires   time.Time
	CreatedAt time.Time
}

// Consent remembers what a user agreed to share with a target (an application).
type Consent struct {
	ID          uuid.UUID
	UserID      uuid.UUID
	Target      string
	Permissions []string
	Expires     time.Time // zero: never
	CreatedAt   time.Time
}
