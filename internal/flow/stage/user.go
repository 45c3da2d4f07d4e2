package stage

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// userWrite creates or updates the pending user from prompt_data.
type userWrite struct {
	UserCreationMode      string `json:"user_creation_mode"`
	CreateUsersAsInactive bool   `json:"create_users_as_inactive"`
	CreateUsersGroup      string `json:"create_users_group"`
	UserType              string `json:"user_type"`
	UserPathTemplate      string `json:"user_path_template"`
}

func newUserWrite(cfg json.RawMessage) (flow.Stage, error) {
	s := &userWrite{UserCreationMode: "create_when_required", UserType: string(store.UserExternal)}
	if err := decode(cfg, s); err != nil {
		return nil, err
	}
	switch s.UserCreationMode {
	case "never_create", "create_when_required", "always_create":
	default:
		return nil, store.Invalid("user_creation_mode", "must be never_create, create_when_required or always_create")
	}
	if !store.UserType(s.UserType).Valid() {
		return nil, store.Invalid("user_type", "must be internal, external, service_account or internal_service_account")
	}
	if s.CreateUsersGroup != "" {
		if _, err := uuid.Parse(s.CreateUsersGroup); err != nil {
			return nil, store.Invalid("create_users_group", "is not a group ID")
		}
	}
	return s, nil
}

func (s *userWrite) Respond(ctx context.Context, x *flow.Execution, r flow.Response) flow.Outcome {
	return s.Challenge(ctx, x)
}

func (s *userWrite) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	pending, err := x.PendingUser(ctx)
	if err != nil {
		return flow.Fail(err)
	}
	create := pending == nil || s.UserCreationMode == "always_create"
	if create && s.UserCreationMode == "never_create" {
		return flow.Deny("stage.user_write.no_user", "No user to update.")
	}
	data := x.Plan.Context.PromptData()
	var u *store.User
	var inv *store.Invitation
	var created bool
	// Inside the transaction only tx may write: on SQLite a write through
	// another scope would wait for this transaction's lock.
	err = x.Scope.Tx(ctx, func(tx store.Scope) error {
		var err error
		if inv, err = flow.RedeemInvitation(ctx, x, tx); err != nil {
			return err
		}
		if create {
			u = &store.User{Type: store.UserType(s.UserType), IsActive: !s.CreateUsersAsInactive,
				Path: strings.Trim(s.UserPathTemplate, "/")}
			if err := apply(u, data); err != nil {
				return err
			}
			plain, _ := data["password"].(string)
			if err := x.Env.Core.CreateUser(ctx, tx, u, plain); err != nil {
				return err
			}
			created = true
			if s.CreateUsersGroup != "" {
				return tx.Groups().AddMember(ctx, uuid.MustParse(s.CreateUsersGroup), u.ID)
			}
			return nil
		}
		u, err = tx.Users().Update(ctx, pending.ID, func(x *store.User) error { return apply(x, data) })
		if err != nil {
			return err
		}
		if plain, ok := data["password"].(string); ok && plain != "" {
			if err := x.Env.Core.SetPassword(ctx, tx, u.ID, plain, passwordWrite(x, u)); err != nil {
				return err
			}
		}
		return nil
	})
	var ce *store.ConflictError
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ce):
		return flow.Deny("stage.user_write.conflict", "Failed to save the user: that "+ce.Field+" is already in use.")
	case errors.As(err, &ve):
		return flow.Deny("stage.user_write.invalid", "Failed to save the user: "+ve.Error())
	case errors.Is(err, flow.ErrInvitationUsed):
		return flow.Deny("invitation.invalid", "This invitation has expired or has already been used.")
	case err != nil:
		return flow.Fail(err)
	}
	if inv != nil {
		x.InvitationRedeemed()
		x.Event(ctx, "invitation_used", u, map[string]any{"invitation": inv.Name, "invitation_id": inv.ID.String()})
	}
	_, pwSet := data["password"]
	// Secrets leave the plan as soon as they are stored.
	for k := range data {
		if isSecretKey(k) {
			delete(data, k)
		}
	}
	x.SetPendingUser(u)
	action := "model_updated"
	if created {
		action = "model_created"
	}
	x.Event(ctx, "user_write", u, map[string]any{"created": created})
	x.Event(ctx, action, u, map[string]any{"model": "user", "pk": u.ID.String()})
	if pwSet {
		x.Event(ctx, "password_set", u, nil)
	}
	return flow.Next()
}

// passwordWrite describes a password the flow sets for u: a change when u
// is the logged-in user acting for themselves (they knew the old one to
// log in), a reset otherwise (recovery, an impersonating admin). Either
// way the session the flow runs in is kept.
func passwordWrite(x *flow.Execution, u *store.User) core.PasswordWrite {
	var w core.PasswordWrite
	if x.Session != nil {
		w.Session = x.Session.ID()
	}
	self := x.User != nil && x.User.ID == u.ID && (x.Session == nil || !x.Session.Impersonator().Valid)
	w.Reset = !self || x.Flow.Designation == store.DesignationRecovery
	return w
}

// apply writes prompt values onto a user, as Authentik's user_write does:
// known fields by name, "attributes.a.b" (or "attributes_a") into
// attributes; everything else (password_repeat, tokens) is ignored.
func apply(u *store.User, data map[string]any) error {
	for k, v := range data {
		s, isStr := v.(string)
		switch {
		case k == "username" && isStr && s != "":
			u.Username = s
		case k == "name" && isStr:
			u.Name = s
		case k == "email" && isStr:
			if s != u.Email {
				u.EmailVerified = false
			}
			u.Email = s
		case k == "path" && isStr && s != "":
			u.Path = s
		case strings.HasPrefix(k, "attributes.") || strings.HasPrefix(k, "attributes_"):
			if u.Attributes == nil {
				u.Attributes = store.Attributes{}
			}
			setPath(u.Attributes, strings.Split(k[len("attributes."):], "."), v)
		}
	}
	return nil
}

func setPath(m map[string]any, path []string, v any) {
	for i, p := range path {
		if i == len(path)-1 {
			m[p] = v
			return
		}
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
}

// userLogin logs the pending user in.
type userLogin struct {
	SessionDuration        string `json:"session_duration"`
	RememberMeOffset       string `json:"remember_me_offset"`
	TerminateOtherSessions bool   `json:"terminate_other_sessions"`
}

func newUserLogin(cfg json.RawMessage) (flow.Stage, error) {
	s := &userLogin{SessionDuration: "seconds=0", RememberMeOffset: "seconds=0"}
	if err := decode(cfg, s); err != nil {
		return nil, err
	}
	if _, err := duration("session_duration", s.SessionDuration); err != nil {
		return nil, err
	}
	if _, err := duration("remember_me_offset", s.RememberMeOffset); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *userLogin) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	if off, _ := duration("", s.RememberMeOffset); off > 0 {
		return flow.Show(&flow.UserLoginChallenge{Base: base(flow.ComponentUserLogin)})
	}
	return s.login(ctx, x, false)
}

func (s *userLogin) Respond(ctx context.Context, x *flow.Execution, r flow.Response) flow.Outcome {
	return s.login(ctx, x, r.Bool("remember_me"))
}

func (s *userLogin) login(ctx context.Context, x *flow.Execution, remember bool) flow.Outcome {
	u, err := x.PendingUser(ctx)
	if err != nil {
		return flow.Fail(err)
	}
	if u == nil || !u.IsActive {
		// Unknown users reach here only through misconfigured flows.
		return flow.Deny("stage.password.invalid", "Invalid username or password.")
	}
	ttl, _ := duration("", s.SessionDuration)
	if remember {
		off, _ := duration("", s.RememberMeOffset)
		ttl += off
	}
	amr := []string{"pwd"}
	switch x.Plan.Context.String(flow.KeyAuthMethod) {
	case "app_password":
		amr = []string{"pwd", "app_password"}
	case "":
		amr = nil // enrollment or recovery: no password typed at login
	}
	x.Env.Sessions.Login(x.Session, u.ID, ttl, amr)
	x.User = u
	now := x.Env.Now()
	if err := x.Scope.Users().RecordLogin(ctx, u.ID, now); err != nil {
		return flow.Fail(err)
	}
	if s.TerminateOtherSessions {
		if _, err := x.Scope.Sessions().DeleteForUser(ctx, u.ID, x.Session.ID()); err != nil {
			return flow.Fail(err)
		}
	}
	if x.Env.ReputationExpiry > 0 {
		x.Scope.Reputation().Adjust(ctx, u.Username, x.Client.IP, 1, x.Env.ReputationLower, x.Env.ReputationUpper,
			now.Add(x.Env.ReputationExpiry))
	}
	x.Event(ctx, "login", u, map[string]any{"auth_method": x.Plan.Context.String(flow.KeyAuthMethod)})
	return flow.Next()
}

// userLogout ends the session. A logout that another site started (a
// link or a script on its page, which a GET cannot tell from the user's
// own click) is confirmed first with a CSRF-protected POST; so is one an
// application asks for without proving it speaks for this session,
// whatever the request's headers (its form may have been re-posted from
// our own page).
type userLogout struct{}

func newUserLogout(json.RawMessage) (flow.Stage, error) { return userLogout{}, nil }

// Respond is the confirmation: a POST, which the flow pages accept only
// with the session's CSRF token and the JSON executor only as JSON from
// this origin.
func (userLogout) Respond(ctx context.Context, x *flow.Execution, _ flow.Response) flow.Outcome {
	return userLogout{}.end(ctx, x)
}

func (userLogout) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	ask := x.Client.CrossSite
	switch x.Plan.Context.String(flow.KeyLogoutRequest) {
	case flow.LogoutVerified:
		ask = false
	case flow.LogoutUnverified:
		ask = true
	}
	if x.User != nil && ask {
		return flow.Show(&flow.LogoutChallenge{Base: base(flow.ComponentUserLogout)})
	}
	return userLogout{}.end(ctx, x)
}

func (userLogout) end(ctx context.Context, x *flow.Execution) flow.Outcome {
	if x.User != nil {
		x.Event(ctx, "logout", x.User, nil)
	}
	x.Session.EndOnSave()
	x.User = nil
	return flow.Next()
}
