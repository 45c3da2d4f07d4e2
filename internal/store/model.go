package store

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits every backend enforces on writes. They bound what a hostile
// client can make us store and later render.
const (
	MaxUsernameLen   = 150 // as Django's AbstractUser
	MaxNameLen       = 1024
	MaxEmailLen      = 254
	MaxPathLen       = 512
	MaxAttributesLen = 64 << 10 // encoded JSON
	MaxUserAgentLen  = 512
	MaxIdentifierLen = 255
)

// Attributes is a free-form JSON object attached to users, groups and
// tenants, as in Authentik.
type Attributes map[string]any

// Tenant is the root of isolation: every other row belongs to exactly one.
type Tenant struct {
	ID        uuid.UUID
	Name      string
	Default   bool
	Domains   []string // hostnames that resolve to this tenant, lower-case
	CreatedAt time.Time
	// EventRetention is how long new events are kept (Authentik's
	// event_retention); zero on Create means DefaultEventRetention.
	EventRetention time.Duration
}

// DefaultEventRetention is Authentik's default event_retention (days=365).
const DefaultEventRetention = 365 * 24 * time.Hour

// UserType follows Authentik's: internal users may use the admin and user
// interfaces; external ones (sign-up, social login) only applications.
type UserType string

const (
	UserInternal               UserType = "internal"
	UserExternal               UserType = "external"
	UserServiceAccount         UserType = "service_account"
	UserInternalServiceAccount UserType = "internal_service_account"
)

// Valid reports whether t is one of the four user types.
func (t UserType) Valid() bool {
	switch t {
	case UserInternal, UserExternal, UserServiceAccount, UserInternalServiceAccount:
		return true
	}
	return false
}

// User is an identity in a tenant's directory.
type User struct {
	ID            uuid.UUID
	Username      string
	Name          string
	Email         string
	EmailVerified bool
	Type          UserType
	IsActive      bool
	Path          string
	Attributes    Attributes
	// PasswordHash is a PHC or Django-format hash, or "" for no usable password.
	PasswordHash       string
	PasswordChangeDate time.Time
	LastLogin          time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// Version increases on every write; updates compare it so that two
	// concurrent edits cannot silently overwrite each other.
	Version int64
}

// HasUsablePassword reports whether the user can log in with a password.
func (u *User) HasUsablePassword() bool {
	return u.PasswordHash != "" && !strings.HasPrefix(u.PasswordHash, "!")
}

var (
	usernameRE = regexp.MustCompile(`^[\p{L}\p{N}_.@+-]+$`) // Django's UnicodeUsernameValidator
	pathRE     = regexp.MustCompile(`^[\p{L}\p{N}_.@+-]+(/[\p{L}\p{N}_.@+-]+)*$`)
	slugRE     = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// ValidUsername checks a username against the same rule as Django's.
func ValidUsername(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case utf8.RuneCountInString(s) > MaxUsernameLen:
		return "must be at most 150 characters"
	case !usernameRE.MatchString(s):
		return "may contain only letters, digits and @ . + - _"
	}
	return ""
}

// ValidEmail accepts a bare address (no display name), or "".
func ValidEmail(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > MaxEmailLen {
		return "must be at most 254 characters"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "is not a valid email address"
	}
	return ""
}

// Validate checks every field of a stored user and reports all problems at
// once; ValidateWrite adds the rules only new values must meet.
func (u *User) Validate() error { return u.validate(u.Username).Err() }

// ValidateWrite is Validate for a write that replaces old (nil when u is
// new). A username new to the directory must also not mix scripts; one
// that is already stored stays valid, so a rule added later never locks an
// existing user out of editing their other fields.
func (u *User) ValidateWrite(old *User) error {
	oldName := ""
	if old != nil {
		oldName = old.Username
	}
	return u.validate(oldName).Err()
}

func (u *User) validate(stored string) *ValidationError {
	v := &ValidationError{}
	if msg := ValidUsername(u.Username); msg != "" {
		v.Add("username", "%s", msg)
	} else if u.Username != stored && MixesScripts(u.Username) {
		v.Add("username", "must not mix letters of different scripts (such as Latin and Cyrillic)")
	}
	if utf8.RuneCountInString(u.Name) > MaxNameLen {
		v.Add("name", "must be at most %d characters", MaxNameLen)
	}
	if msg := ValidEmail(u.Email); msg != "" {
		v.Add("email", "%s", msg)
	}
	if !u.Type.Valid() {
		v.Add("type", "must be one of internal, external, service_account, internal_service_account")
	}
	if len(u.Path) > MaxPathLen || !pathRE.MatchString(u.Path) {
		v.Add("path", "must be slash-separated names without empty parts")
	}
	validAttributes(v, "attributes", u.Attributes)
	return v
}

func validAttributes(v *ValidationError, field string, a Attributes) {
	ValidateJSON(v, field, a, MaxAttributesLen)
}

// Group collects users; membership of a group implies membership of its
// ancestors, and a superuser group makes its (transitive) members superusers.
type Group struct {
	ID          uuid.UUID
	Name        string
	ParentID    uuid.NullUUID
	IsSuperuser bool
	Attributes  Attributes
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int64
}

// Validate checks every field and reports all problems at once.
func (g *Group) Validate() error {
	v := &ValidationError{}
	switch n := utf8.RuneCountInString(strings.TrimSpace(g.Name)); {
	case n == 0:
		v.Add("name", "must not be empty")
	case n > 256:
		v.Add("name", "must be at most 256 characters")
	}
	if g.ParentID.Valid && g.ParentID.UUID == g.ID {
		v.Add("parent", "a group cannot be its own parent")
	}
	validAttributes(v, "attributes", g.Attributes)
	return v.Err()
}

// Role is a named set of permissions, granted to users through groups.
type Role struct {
	ID          uuid.UUID
	Name        string
	Permissions []string // e.g. "view_user", "change_application", sorted
	CreatedAt   time.Time
}

var permissionRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$`)

// Validate checks every field and reports all problems at once.
func (r *Role) Validate() error {
	v := &ValidationError{}
	if n := utf8.RuneCountInString(strings.TrimSpace(r.Name)); n == 0 || n > 256 {
		v.Add("name", "must be 1 to 256 characters")
	}
	for _, p := range r.Permissions {
		if !permissionRE.MatchString(p) {
			v.Add("permissions", "%q is not a permission name", p)
		}
	}
	return v.Err()
}

// TokenIntent says what a token may be used for, as Authentik's.
type TokenIntent string

const (
	IntentAPI          TokenIntent = "api"
	IntentAppPassword  TokenIntent = "app_password"
	IntentRecovery     TokenIntent = "recovery"
	IntentVerification TokenIntent = "verification"
)

// Valid reports whether i is a known intent.
func (i TokenIntent) Valid() bool {
	switch i {
	case IntentAPI, IntentAppPassword, IntentRecovery, IntentVerification:
		return true
	}
	return false
}

// Token is a secret a user presents instead of a password. Only a hash of
// the secret is stored; the secret itself is shown once at creation.
type Token struct {
	ID          uuid.UUID
	Identifier  string
	KeyHash     []byte
	Intent      TokenIntent
	UserID      uuid.UUID
	Description string
	Expires     time.Time // zero: never
	CreatedAt   time.Time
}

// Expired reports whether the token has expired at now.
func (t *Token) Expired(now time.Time) bool {
	return !t.Expires.IsZero() && !now.Before(t.Expires)
}

// Validate checks every field and reports all problems at once.
func (t *Token) Validate() error {
	v := &ValidationError{}
	if t.Identifier == "" || len(t.Identifier) > MaxIdentifierLen || !slugRE.MatchString(t.Identifier) {
		v.Add("identifier", "must be 1 to 255 letters, digits, - or _")
	}
	if len(t.KeyHash) != 32 {
		v.Add("key", "must be stored as a SHA-256 hash")
	}
	if !t.Intent.Valid() {
		v.Add("intent", "must be one of api, app_password, recovery, verification")
	}
	if t.UserID == uuid.Nil {
		v.Add("user", "is required")
	}
	if utf8.RuneCountInString(t.Description) > MaxNameLen {
		v.Add("description", "must be at most %d characters", MaxNameLen)
	}
	return v.Err()
}

// Session is a browser session. The cookie carries a random secret; the
// store keeps only its hash, so a database leak does not hand out sessions.
type Session struct {
	ID        uuid.UUID // public identifier, for listing and revoking
	KeyHash   []byte
	UserID    uuid.NullUUID // unset while anonymous (e.g. during a login flow)
	IP        string
	UserAgent string
	// Data is the server's own state for the session (flow plan, CSRF
	// secret, login facts), encoded by its owner.
	Data      []byte
	CreatedAt time.Time
	LastSeen  time.Time
	Expires   time.Time
}

// Event is one audit record. It copies names (username, application
// slug) rather than referencing rows, because it outlives them.
type Event struct {
	ID     uuid.UUID
	Action string
	// UserID and Username are who the action was done as; the
	// Impersonator fields name the admin acting as that user, if any
	// (Authentik's user.on_behalf_of, seen from the other side).
	UserID               uuid.NullUUID
	Username             string
	ImpersonatorID       uuid.NullUUID
	ImpersonatorUsername string
	App                  string // application slug
	ClientIP             string
	UserAgent            string
	Context              map[string]any
	CreatedAt            time.Time
	// Expires is when retention deletes the event.
	Expires time.Time
}
