package api

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Stages at Authentik's paths (stages/<kind>/), one resource per kind with
// its settings as typed fields; see objects.go for what they share. The
// output types show every setting as the stage runs it (defaults filled
// in); settings of Authentik's that gatehouse does not implement
// (captcha_stage, sources, configure_flow, ...) are refused as unknown
// fields rather than stored and ignored.

// kindNames is how Authentik names an object's kind, shown by every stage
// and policy (family.identity fills it in).
type kindNames struct {
	Component         string `json:"component"`
	VerboseName       string `json:"verbose_name"`
	VerboseNamePlural string `json:"verbose_name_plural"`
	MetaModelName     string `json:"meta_model_name"`
}

// stageBase is what every kind of stage shows before its settings. It is
// embedded without a json tag, so its fields are the kind's own, in this
// order, in the JSON and in the OpenAPI document alike.
type stageBase struct {
	PK   uuid.UUID `json:"pk"`
	Name string    `json:"name"`
	kindNames
	objectMeta `json:"-"`
}

// Stage is any stage, as stages/all/ lists them (Authentik's
// StageSerializer, without flow_set): stageBase's fields, spelled out to
// describe them.
type Stage struct {
	PK                uuid.UUID `json:"pk"`
	Name              string    `json:"name"`
	Component         string    `json:"component" doc:"the admin form of the stage's kind"`
	VerboseName       string    `json:"verbose_name"`
	VerboseNamePlural string    `json:"verbose_name_plural"`
	MetaModelName     string    `json:"meta_model_name" doc:"the stage's kind, as Authentik's model"`
	objectMeta        `json:"-"`
}

// IdentificationStage asks who the user is.
type IdentificationStage struct {
	stageBase
	UserFields              []string      `json:"user_fields" doc:"what the user may identify with: email, username, upn"`
	PasswordStage           uuid.NullUUID `json:"password_stage" doc:"a password stage whose field is shown on this page"`
	CaseInsensitiveMatching bool          `json:"case_insensitive_matching"`
	ShowMatchedUser         bool          `json:"show_matched_user"`
	PretendUserExists       bool          `json:"pretend_user_exists"`
	EnrollmentFlow          uuid.NullUUID `json:"enrollment_flow" doc:"linked as Sign up"`
	RecoveryFlow            uuid.NullUUID `json:"recovery_flow" doc:"linked as Forgot password?"`
	PasswordlessFlow        uuid.NullUUID `json:"passwordless_flow"`
	EnableRememberMe        bool          `json:"enable_remember_me"`
}

type IdentificationStageRequest struct {
	Name                    *string        `json:"name,omitempty"`
	UserFields              *[]string      `json:"user_fields,omitempty" doc:"email, username, upn"`
	PasswordStage           *uuid.NullUUID `json:"password_stage,omitempty" ref:"stage:password"`
	CaseInsensitiveMatching *bool          `json:"case_insensitive_matching,omitempty"`
	ShowMatchedUser         *bool          `json:"show_matched_user,omitempty"`
	PretendUserExists       *bool          `json:"pretend_user_exists,omitempty"`
	EnrollmentFlow          *uuid.NullUUID `json:"enrollment_flow,omitempty" ref:"flow"`
	RecoveryFlow            *uuid.NullUUID `json:"recovery_flow,omitempty" ref:"flow"`
	PasswordlessFlow        *uuid.NullUUID `json:"passwordless_flow,omitempty" ref:"flow"`
	EnableRememberMe        *bool          `json:"enable_remember_me,omitempty"`
}

// PasswordStage checks the pending user's password.
type PasswordStage struct {
	stageBase
	Backends                   []string `json:"backends" doc:"authentik.core.auth.InbuiltBackend (passwords), authentik.core.auth.TokenBackend (app passwords)"`
	FailedAttemptsBeforeCancel int      `json:"failed_attempts_before_cancel"`
	AllowShowPassword          bool     `json:"allow_show_password"`
}

type PasswordStageRequest struct {
	Name                       *string   `json:"name,omitempty"`
	Backends                   *[]string `json:"backends,omitempty"`
	FailedAttemptsBeforeCancel *int      `json:"failed_attempts_before_cancel,omitempty"`
	AllowShowPassword          *bool     `json:"allow_show_password,omitempty"`
}

// UserLoginStage logs the pending user in.
type UserLoginStage struct {
	stageBase
	SessionDuration        string `json:"session_duration" doc:"e.g. hours=8; seconds=0 ends with the browser"`
	RememberMeOffset       string `json:"remember_me_offset"`
	TerminateOtherSessions bool   `json:"terminate_other_sessions"`
}

type UserLoginStageRequest struct {
	Name                   *string `json:"name,omitempty"`
	SessionDuration        *string `json:"session_duration,omitempty"`
	RememberMeOffset       *string `json:"remember_me_offset,omitempty"`
	TerminateOtherSessions *bool   `json:"terminate_other_sessions,omitempty"`
}

// UserLogoutStage ends the session; it has no settings.
type UserLogoutStage struct {
	stageBase
}

// NameRequest is the request of a kind whose only field is its name.
type NameRequest struct {
	Name *string `json:"name,omitempty"`
}

// UserWriteStage creates or updates the pending user from the prompts.
type UserWriteStage struct {
	stageBase
	UserCreationMode      string        `json:"user_creation_mode" enum:"never_create,create_when_required,always_create"`
	CreateUsersAsInactive bool          `json:"create_users_as_inactive"`
	CreateUsersGroup      uuid.NullUUID `json:"create_users_group"`
	UserType              string        `json:"user_type" enum:"internal,external,service_account,internal_service_account"`
	UserPathTemplate      string        `json:"user_path_template"`
}

type UserWriteStageRequest struct {
	Name                  *string        `json:"name,omitempty"`
	UserCreationMode      *string        `json:"user_creation_mode,omitempty" enum:"never_create,create_when_required,always_create"`
	CreateUsersAsInactive *bool          `json:"create_users_as_inactive,omitempty"`
	CreateUsersGroup      *uuid.NullUUID `json:"create_users_group,omitempty" ref:"group"`
	UserType              *string        `json:"user_type,omitempty" enum:"internal,external,service_account,internal_service_account"`
	UserPathTemplate      *string        `json:"user_path_template,omitempty"`
}

// PromptStage shows prompts (stages/prompt/prompts/) and checks the
// answers with its validation policies.
type PromptStage struct {
	stageBase
	Fields             []uuid.UUID `json:"fields" doc:"prompts"`
	ValidationPolicies []uuid.UUID `json:"validation_policies" doc:"policies"`
}

type PromptStageRequest struct {
	Name               *string      `json:"name,omitempty"`
	Fields             *[]uuid.UUID `json:"fields,omitempty" ref:"prompt"`
	ValidationPolicies *[]uuid.UUID `json:"validation_policies,omitempty" ref:"policy"`
}

// Prompt is one field a prompt stage shows (Authentik's Prompt).
type Prompt struct {
	PK                     uuid.UUID `json:"pk"`
	Name                   string    `json:"name"`
	FieldKey               string    `json:"field_key" doc:"the key in prompt_data; attributes.x.y writes a user attribute"`
	Label                  string    `json:"label"`
	Type                   string    `json:"type" enum:"text,text_area,text_read_only,text_area_read_only,username,email,password,number,checkbox,radio-button-group,dropdown,date,date-time,hidden,static,separator,ak-locale"`
	Required               bool      `json:"required"`
	Placeholder            string    `json:"placeholder"`
	InitialValue           string    `json:"initial_value"`
	Order                  int       `json:"order"`
	SubText                string    `json:"sub_text"`
	PlaceholderExpression  bool      `json:"placeholder_expression"`
	InitialValueExpression bool      `json:"initial_value_expression"`
	Choices                []string  `json:"choices"`
	objectMeta             `json:"-"`
}

type PromptRequest struct {
	Name                   *string   `json:"name,omitempty"`
	FieldKey               *string   `json:"field_key,omitempty"`
	Label                  *string   `json:"label,omitempty"`
	Type                   *string   `json:"type,omitempty" enum:"text,text_area,text_read_only,text_area_read_only,username,email,password,number,checkbox,radio-button-group,dropdown,date,date-time,hidden,static,separator,ak-locale"`
	Required               *bool     `json:"required,omitempty"`
	Placeholder            *string   `json:"placeholder,omitempty"`
	InitialValue           *string   `json:"initial_value,omitempty"`
	Order                  *int      `json:"order,omitempty"`
	SubText                *string   `json:"sub_text,omitempty"`
	PlaceholderExpression  *bool     `json:"placeholder_expression,omitempty"`
	InitialValueExpression *bool     `json:"initial_value_expression,omitempty"`
	Choices                *[]string `json:"choices,omitempty"`
}

// EmailStage sends a one-time link (verification, recovery).
type EmailStage struct {
	stageBase
	UseGlobalSettings     bool   `json:"use_global_settings"`
	TokenExpiry           string `json:"token_expiry" doc:"e.g. minutes=30"`
	Subject               string `json:"subject"`
	Template              string `json:"template" doc:"email/password_reset.html or email/account_confirmation.html"`
	ActivateUserOnSuccess bool   `json:"activate_user_on_success"`
	RecoveryMaxAttempts   int    `json:"recovery_max_attempts"`
}

type EmailStageRequest struct {
	Name                  *string `json:"name,omitempty"`
	UseGlobalSettings     *bool   `json:"use_global_settings,omitempty"`
	TokenExpiry           *string `json:"token_expiry,omitempty"`
	Subject               *string `json:"subject,omitempty"`
	Template              *string `json:"template,omitempty"`
	ActivateUserOnSuccess *bool   `json:"activate_user_on_success,omitempty"`
	RecoveryMaxAttempts   *int    `json:"recovery_max_attempts,omitempty"`
}

// InvitationStage admits only holders of an invitation.
type InvitationStage struct {
	stageBase
	ContinueFlowWithoutInvitation bool `json:"continue_flow_without_invitation"`
}

type InvitationStageRequest struct {
	Name                          *string `json:"name,omitempty"`
	ContinueFlowWithoutInvitation *bool   `json:"continue_flow_without_invitation,omitempty"`
}

// ConsentStage asks the user to let an application see their data.
type ConsentStage struct {
	stageBase
	Mode            string `json:"mode" enum:"always_require,permanent,expiring"`
	ConsentExpireIn string `json:"consent_expire_in" doc:"e.g. weeks=4"`
}

type ConsentStageRequest struct {
	Name            *string `json:"name,omitempty"`
	Mode            *string `json:"mode,omitempty" enum:"always_require,permanent,expiring"`
	ConsentExpireIn *string `json:"consent_expire_in,omitempty"`
}

// DenyStage ends the flow with a message.
type DenyStage struct {
	stageBase
	DenyMessage string `json:"deny_message"`
}

type DenyStageRequest struct {
	Name        *string `json:"name,omitempty"`
	DenyMessage *string `json:"deny_message,omitempty"`
}

// RedirectStage sends the user to a URL or to another flow.
type RedirectStage struct {
	stageBase
	Mode         string        `json:"mode" enum:"static,flow"`
	TargetStatic string        `json:"target_static"`
	TargetFlow   uuid.NullUUID `json:"target_flow"`
	KeepContext  bool          `json:"keep_context"`
}

type RedirectStageRequest struct {
	Name         *string        `json:"name,omitempty"`
	Mode         *string        `json:"mode,omitempty" enum:"static,flow"`
	TargetStatic *string        `json:"target_static,omitempty"`
	TargetFlow   *uuid.NullUUID `json:"target_flow,omitempty" ref:"flow"`
	KeepContext  *bool          `json:"keep_context,omitempty"`
}

// DummyStage shows a continue button, for testing flows.
type DummyStage struct {
	stageBase
	ThrowError bool `json:"throw_error"`
}

type DummyStageRequest struct {
	Name       *string `json:"name,omitempty"`
	ThrowError *bool   `json:"throw_error,omitempty"`
}

func (a *API) registerStages() {
	f := stageFamily
	Register(a, readOnly(objects[Stage, struct{}](a, f, "", "stages/all/", "stages")))
	Register(a, objects[IdentificationStage, IdentificationStageRequest](a, f, "identification", "stages/identification/", "stages", "name"))
	Register(a, objects[PasswordStage, PasswordStageRequest](a, f, "password", "stages/password/", "stages", "name"))
	Register(a, objects[UserLoginStage, UserLoginStageRequest](a, f, "user_login", "stages/user_login/", "stages", "name"))
	Register(a, objects[UserLogoutStage, NameRequest](a, f, "user_logout", "stages/user_logout/", "stages", "name"))
	Register(a, objects[UserWriteStage, UserWriteStageRequest](a, f, "user_write", "stages/user_write/", "stages", "name"))
	Register(a, objects[PromptStage, PromptStageRequest](a, f, "prompt", "stages/prompt/stages/", "stages", "name"))
	Register(a, objects[Prompt, PromptRequest](a, promptFamily, "", "stages/prompt/prompts/", "stages",
		"name", "field_key", "label", "type"))
	Register(a, objects[EmailStage, EmailStageRequest](a, f, "email", "stages/email/", "stages", "name"))
	Register(a, objects[InvitationStage, InvitationStageRequest](a, f, "invitation", "stages/invitation/stages/", "stages", "name"))
	Register(a, objects[ConsentStage, ConsentStageRequest](a, f, "consent", "stages/consent/", "stages", "name"))
	Register(a, objects[DenyStage, DenyStageRequest](a, f, "deny", "stages/deny/", "stages", "name"))
	Register(a, objects[RedirectStage, RedirectStageRequest](a, f, "redirect", "stages/redirect/", "stages", "name"))
	Register(a, objects[DummyStage, DummyStageRequest](a, f, "dummy", "stages/dummy/", "stages", "name"))
	a.registerInvitations()
}

// Invitation admits a user to an enrollment flow (Authentik's Invitation,
// without flow_obj and with created_by as an ID).
type Invitation struct {
	PK        uuid.UUID      `json:"pk"`
	Name      string         `json:"name"`
	Expires   *time.Time     `json:"expires"`
	FixedData map[string]any `json:"fixed_data" doc:"merged into the prompts' answers"`
	CreatedBy uuid.NullUUID  `json:"created_by"`
	SingleUse bool           `json:"single_use"`
	Flow      uuid.NullUUID  `json:"flow" doc:"the enrollment flow it opens; null for any"`
}

// Invitations are never edited, so their version is always 1.
func (i Invitation) Meta() Meta { return Meta{ID: i.PK, Name: i.Name, Version: 1} }

type InvitationRequest struct {
	Name      *string         `json:"name,omitempty" doc:"lower-case letters, digits, - and _"`
	Expires   *time.Time      `json:"expires,omitempty"`
	FixedData *map[string]any `json:"fixed_data,omitempty"`
	SingleUse *bool           `json:"single_use,omitempty"`
	Flow      *uuid.NullUUID  `json:"flow,omitempty" ref:"flow"`
}

// invitationOut resolves the flow the store names by slug (invitations
// are keyed by the slug in their links) back to its ID.
func invitationOut(ctx context.Context, sc store.Scope, i *store.Invitation) (Invitation, error) {
	out := Invitation{PK: i.ID, Name: i.Name, Expires: timePtr(i.Expires), FixedData: i.FixedData, CreatedBy: i.CreatedBy,
		SingleUse: i.SingleUse}
	if out.FixedData == nil {
		out.FixedData = map[string]any{}
	}
	if i.FlowSlug != "" {
		f, err := sc.Flows().GetBySlug(ctx, i.FlowSlug)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Invitation{}, err
		}
		if f != nil {
			out.Flow = nullID(f.ID)
		}
	}
	return out, nil
}

func (a *API) registerInvitations() {
	Register(a, Resource[Invitation, InvitationRequest]{
		Path: "stages/invitation/invitations/", Tag: "stages", Model: "authentik_stages_invitation.invitation",
		Required: []string{"name"},
		List: func(ctx context.Context, c *Caller, q Query) ([]Invitation, int, error) {
			list, total, err := c.Scope.Invitations().List(ctx, q.Page)
			if err != nil {
				return nil, 0, err
			}
			out := make([]Invitation, len(list))
			for i, inv := range list {
				if out[i], err = invitationOut(ctx, c.Scope, inv); err != nil {
					return nil, 0, err
				}
			}
			return out, total, nil
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (Invitation, error) {
			inv, err := c.Scope.Invitations().Get(ctx, id)
			if err != nil {
				return Invitation{}, err
			}
			return invitationOut(ctx, c.Scope, inv)
		},
		Create: func(ctx context.Context, c *Caller, in *InvitationRequest) (Invitation, error) {
			if err := checkRefs(ctx, c.Scope, in); err != nil {
				return Invitation{}, err
			}
			inv := &store.Invitation{Name: *in.Name, SingleUse: true, CreatedBy: nullID(c.User.ID)}
			set(&inv.SingleUse, in.SingleUse)
			set(&inv.FixedData, in.FixedData)
			set(&inv.Expires, in.Expires)
			if in.Flow != nil && in.Flow.Valid {
				f, err := c.Scope.Flows().Get(ctx, in.Flow.UUID)
				if err != nil {
					return Invitation{}, err
				}
				if f.Designation != store.DesignationEnrollment {
					return Invitation{}, store.Invalid("flow", "must be an enrollment flow")
				}
				inv.FlowSlug = f.Slug
			}
			if err := c.Scope.Invitations().Create(ctx, inv); err != nil {
				return Invitation{}, err
			}
			return invitationOut(ctx, c.Scope, inv)
		},
		Delete: func(ctx context.Context, c *Caller, id uuid.UUID) error { return c.Scope.Invitations().Delete(ctx, id) },
	})
}
