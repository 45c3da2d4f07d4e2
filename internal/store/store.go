package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
)

// Store is the root of persistence. Only tenants are reached directly; every
// tenant-owned aggregate is reached through a Scope, so no call can forget
// which tenant it acts for.
type Store interface {
	Tenants() Tenants
	// Scope returns the aggregates of one tenant. It does not check that
	// the tenant exists; writes into a missing tenant fail with ErrNotFound.
	Scope(tenantID uuid.UUID) Scope
	Ping(ctx context.Context) error
	Close() error
}

// Scope is one tenant's view of the store. Every read, update and delete
// through it is limited to that tenant's rows; another tenant's IDs behave as
// if they did not exist.
type Scope interface {
	TenantID() uuid.UUID
	Users() Users
	Groups() Groups
	Roles() Roles
	Tokens() Tokens
	Sessions() Sessions
	Events() Events
	Flows() Flows
	Stages() Objects
	Policies() Objects
	Prompts() Objects
	PropertyMappings() Objects
	FlowStageBindings() FlowStageBindings
	PolicyBindings() PolicyBindings
	Invitations() Invitations
	FlowTokens() FlowTokens
	Consents() Consents
	Reputation() Reputation
	Applications() Applications
	Providers() Providers
	Artifacts() Artifacts
	CertificateKeyPairs() CertificateKeyPairs
	NotificationRules() NotificationRules
	NotificationTransports() NotificationTransports
	Notifications() Notifications
	// Tx runs fn in one transaction. Inside fn, use only the Scope it is
	// given. Nested calls join the outer transaction.
	Tx(ctx context.Context, fn func(Scope) error) error
	// AfterCommit runs fn once the scope's transaction has committed, or at
	// once outside a transaction; a rolled-back transaction drops it. It is
	// for effects in this process that must not see uncommitted data (a
	// cache dropped before the commit could be filled again with the old
	// rows).
	AfterCommit(fn func())
	// Notify sends payload on a PostgreSQL NOTIFY channel as part of the
	// scope's transaction: every connection listening to channel receives
	// it when the transaction commits, and none if it rolls back (outside a
	// transaction it is sent at once). SQLite has no listeners (one process
	// owns the file), so there it does nothing.
	Notify(ctx context.Context, channel, payload string) error
	// Conn is the scope's database connection for packages that keep
	// their own tables in the store's database (the job queue): what they
	// write through it is part of the scope's transaction, committed or
	// rolled back with the scope's own writes (outside a transaction it
	// runs at once). On SQLite it is the transaction's connection, since
	// a second one would wait for the lock the transaction holds. Such
	// packages scope their rows by tenant themselves.
	Conn() Conn
}

// Conn is the part of database/sql a Scope lends out (see Scope.Conn).
type Conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tenants manages the tenants themselves.
type Tenants interface {
	// EnsureDefault returns the default tenant, creating it on first use.
	EnsureDefault(ctx context.Context) (*Tenant, error)
	Create(ctx context.Context, t *Tenant) error
	Get(ctx context.Context, id uuid.UUID) (*Tenant, error)
	// ByDomain resolves a request host (lower-case, no port); ErrNotFound
	// when no tenant claims it.
	ByDomain(ctx context.Context, host string) (*Tenant, error)
	List(ctx context.Context) ([]*Tenant, error)
	AddDomain(ctx context.Context, id uuid.UUID, domain string) error
	// SetEventRetention changes how long the tenant's new events are
	// kept; events already recorded keep their expiry.
	SetEventRetention(ctx context.Context, id uuid.UUID, d time.Duration) error
}

// Page selects a slice of a list; Size is capped by each store at MaxPageSize.
type Page struct {
	Number int // 1-based
	Size   int
}

// MaxPageSize bounds every list, as Authentik's pagination_max_page_size.
const MaxPageSize = 100

// Normalize fills defaults and caps the size.
func (p Page) Normalize() Page {
	if p.Number < 1 {
		p.Number = 1
	}
	if p.Size < 1 {
		p.Size = 20
	}
	if p.Size > MaxPageSize {
		p.Size = MaxPageSize
	}
	return p
}

// Offset is the number of rows before the page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

// UserQuery filters and orders a user list.
type UserQuery struct {
	Search   string    // substring of username, name or email, case-insensitive
	Type     UserType  // "" for any
	IsActive *bool     // nil for any
	GroupID  uuid.UUID // direct members of this group; Nil for any
	// Username and Email match exactly (case-sensitive, as Authentik's
	// filters); "" for any. Both are answered from the lower(...) index.
	Username string
	Email    string
	Ordering string // "username" (default), "-username", "name", "-name", "email", "-email", "last_login", "-last_login", "created", "-created"
	Page     Page
}

// Users is a tenant's user directory.
type Users interface {
	// Create stores u, filling ID, CreatedAt, UpdatedAt and Version.
	Create(ctx context.Context, u *User) error
	Get(ctx context.Context, id uuid.UUID) (*User, error)
	// GetByUsername matches case-insensitively, as logins do.
	GetByUsername(ctx context.Context, username string) (*User, error)
	// GetByEmail matches case-insensitively; ErrConflict if several users
	// share the address (login by email is then ambiguous).
	GetByEmail(ctx context.Context, email string) (*User, error)
	List(ctx context.Context, q UserQuery) ([]*User, int, error)
	// Update reads the user, applies fn and writes the result if nobody
	// wrote in between; fn may run more than once and must only edit its
	// argument. ID, CreatedAt and Version are not taken from fn's result.
	// Every aggregate's Update works so: updates of one row that race all
	// apply, each retried after the one it lost to (eight at once always
	// get through), and none is lost.
	Update(ctx context.Context, id uuid.UUID, fn func(*User) error) (*User, error)
	// UpdateIfVersion is Update for clients that read the user earlier and
	// send its version back (ETag/If-Match): ErrConflict if it moved on.
	UpdateIfVersion(ctx context.Context, id uuid.UUID, version int64, fn func(*User) error) (*User, error)
	Delete(ctx context.Context, id uuid.UUID) error
	// SetPassword replaces the hash and the change date without touching
	// other fields. Callers go through core.Core.SetPassword, which also
	// ends what the old password opened.
	SetPassword(ctx context.Context, id uuid.UUID, hash string, at time.Time) error
	RecordLogin(ctx context.Context, id uuid.UUID, at time.Time) error
	Count(ctx context.Context) (int, error)
}

// GroupQuery filters and orders a group list.
type GroupQuery struct {
	Search   string
	Ordering string // "name" (default), "-name", "created", "-created"
	Page     Page
}

// Groups is a tenant's groups and their members.
type Groups interface {
	Create(ctx context.Context, g *Group) error
	Get(ctx context.Context, id uuid.UUID) (*Group, error)
	GetByName(ctx context.Context, name string) (*Group, error)
	List(ctx context.Context, q GroupQuery) ([]*Group, int, error)
	// Update refuses a parent that would make a cycle.
	Update(ctx context.Context, id uuid.UUID, fn func(*Group) error) (*Group, error)
	Delete(ctx context.Context, id uuid.UUID) error
	AddMember(ctx context.Context, groupID, userID uuid.UUID) error
	RemoveMember(ctx context.Context, groupID, userID uuid.UUID) error
	// Members lists the direct members of a group.
	Members(ctx context.Context, groupID uuid.UUID) ([]uuid.UUID, error)
	// ForUser lists the groups a user is a direct member of, or with
	// effective=true also all their ancestors.
	ForUser(ctx context.Context, userID uuid.UUID, effective bool) ([]*Group, error)
}

// Roles is a tenant's roles and their assignment to groups.
type Roles interface {
	Create(ctx context.Context, r *Role) error
	Get(ctx context.Context, id uuid.UUID) (*Role, error)
	GetByName(ctx context.Context, name string) (*Role, error)
	List(ctx context.Context) ([]*Role, error)
	SetPermissions(ctx context.Context, id uuid.UUID, perms []string) error
	Delete(ctx context.Context, id uuid.UUID) error
	// AssignToGroup and UnassignFromGroup change one assignment; each
	// bumps the group's version, since a group's roles are part of it as
	// the API shows it (its ETag must change).
	AssignToGroup(ctx context.Context, roleID, groupID uuid.UUID) error
	UnassignFromGroup(ctx context.Context, roleID, groupID uuid.UUID) error
	// ForGroups maps each of the groups to the roles assigned to it
	// directly (not through a parent), ordered by name; groups without
	// roles are absent from the map.
	ForGroups(ctx context.Context, groupIDs []uuid.UUID) (map[uuid.UUID][]*Role, error)
	// SetForGroup makes roleIDs the group's directly assigned roles, all or
	// nothing: ErrNotFound for a missing group, a validation error on
	// "roles" for a role that does not exist (in this tenant). It bumps
	// the group's version when the set changes.
	SetForGroup(ctx context.Context, groupID uuid.UUID, roleIDs []uuid.UUID) error
	// ForUser lists the roles a user holds through any of its effective groups.
	ForUser(ctx context.Context, userID uuid.UUID) ([]*Role, error)
	// AssignObjectPermissions gives the role perms on one object (adding
	// to what it holds); ErrNotFound for a missing role.
	AssignObjectPermissions(ctx context.Context, roleID, objectID uuid.UUID, perms []string) error
	// UnassignObjectPermissions takes perms on the object from the role.
	UnassignObjectPermissions(ctx context.Context, roleID, objectID uuid.UUID, perms []string) error
	// ObjectPermissions lists object permissions, of one role and/or on
	// one object (uuid.Nil for any), by role, permission and object.
	ObjectPermissions(ctx context.Context, roleID, objectID uuid.UUID) ([]ObjectPermission, error)
	// ObjectPermissionsForUser is what a user holds on single objects
	// through the roles of its effective groups, in one query.
	ObjectPermissionsForUser(ctx context.Context, userID uuid.UUID) ([]ObjectPermission, error)
}

// ObjectPermission is a permission a role holds on one object.
type ObjectPermission struct {
	RoleID     uuid.UUID
	Permission string
	ObjectID   uuid.UUID
}

// Tokens is a tenant's API tokens, app passwords and one-time tokens.
type Tokens interface {
	Create(ctx context.Context, t *Token) error
	Get(ctx context.Context, id uuid.UUID) (*Token, error)
	// GetByIdentifier finds the token of userID with identifier, which is
	// unique per user. uuid.Nil looks at every user's tokens:
	// ErrConflict if several have one of that name.
	GetByIdentifier(ctx context.Context, userID uuid.UUID, identifier string) (*Token, error)
	// GetByKeyHash finds a token by the hash of its secret; expired tokens
	// are returned too, so the caller can tell "expired" from "unknown".
	GetByKeyHash(ctx context.Context, hash []byte) (*Token, error)
	ListForUser(ctx context.Context, userID uuid.UUID) ([]*Token, error)
	Delete(ctx context.Context, id uuid.UUID) error
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// Sessions is a tenant's browser sessions.
type Sessions interface {
	Create(ctx context.Context, s *Session) error
	GetByKeyHash(ctx context.Context, hash []byte) (*Session, error)
	Get(ctx context.Context, id uuid.UUID) (*Session, error)
	// Save writes the mutable fields (user, data, last seen, expiry, IP, UA).
	Save(ctx context.Context, s *Session) error
	Delete(ctx context.Context, id uuid.UUID) error
	ListForUser(ctx context.Context, userID uuid.UUID) ([]*Session, error)
	// DeleteForUser ends every session of a user except keep (may be Nil).
	DeleteForUser(ctx context.Context, userID, keep uuid.UUID) (int, error)
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
	CountActive(ctx context.Context, now time.Time) (int, error)
}

// EventQuery is the event browser's question. Every filter is optional
// and matches exactly, so each one can use an index.
type EventQuery struct {
	Action   string
	Username string
	App      string // application slug
	ClientIP string
	Since    time.Time // created at or after
	Until    time.Time // created before
	Ordering string    // "-created" (default, newest first) or "created"
	// After continues a listing after this event (the last of the previous
	// page) in the query's order, instead of skipping Page.Number-1 pages:
	// a deep page then costs what the first does. Only its CreatedAt and
	// ID are read.
	After *Event
	Page  Page
}

// MaxEventCount caps the total that Events.List counts: beyond it a
// browser shows "10000+", since counting millions of rows would cost more
// than the page itself.
const MaxEventCount = 10000

// Events is a tenant's append-only audit log.
type Events interface {
	// Create stores e, filling ID, CreatedAt and, unless set, Expires
	// (CreatedAt plus the tenant's event retention).
	Create(ctx context.Context, e *Event) error
	// Get reads one event; ErrNotFound when it does not exist (or was
	// deleted by retention, or belongs to another tenant).
	Get(ctx context.Context, id uuid.UUID) (*Event, error)
	// List returns a page of events and how many match, counted up to
	// MaxEventCount; continuation pages (q.After set) are not counted and
	// report 0.
	List(ctx context.Context, q EventQuery) ([]*Event, int, error)
	// DeleteExpired deletes events whose expiry has passed, in bounded
	// batches, so that a large backlog never holds one long lock.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// FlowQuery filters a flow list.
type FlowQuery struct {
	Designation string
	Search      string
	Ordering    string // "slug" (default), "-slug", "name", "-name"
	Page        Page
}

// Flows is a tenant's flows.
type Flows interface {
	Create(ctx context.Context, f *Flow) error
	Get(ctx context.Context, id uuid.UUID) (*Flow, error)
	GetBySlug(ctx context.Context, slug string) (*Flow, error)
	List(ctx context.Context, q FlowQuery) ([]*Flow, int, error)
	Update(ctx context.Context, id uuid.UUID, fn func(*Flow) error) (*Flow, error)
	UpdateIfVersion(ctx context.Context, id uuid.UUID, version int64, fn func(*Flow) error) (*Flow, error)
	// Delete removes the flow, its stage bindings and every policy
	// binding on the flow or its stage bindings.
	Delete(ctx context.Context, id uuid.UUID) error
}

// ObjectQuery filters an object list.
type ObjectQuery struct {
	Kind   string
	Search string
	Page   Page
}

// Objects is a tenant's stages, policies or prompts (one table each).
type Objects interface {
	Create(ctx context.Context, o *Object) error
	Get(ctx context.Context, id uuid.UUID) (*Object, error)
	GetByName(ctx context.Context, name string) (*Object, error)
	// GetMany loads several objects in one query; missing IDs are skipped.
	GetMany(ctx context.Context, ids []uuid.UUID) ([]*Object, error)
	List(ctx context.Context, q ObjectQuery) ([]*Object, int, error)
	Update(ctx context.Context, id uuid.UUID, fn func(*Object) error) (*Object, error)
	UpdateIfVersion(ctx context.Context, id uuid.UUID, version int64, fn func(*Object) error) (*Object, error)
	Delete(ctx context.Context, id uuid.UUID) error
}

// FlowStageBindingQuery orders and pages the bindings of every flow.
type FlowStageBindingQuery struct {
	Ordering string // "order" (default) or "-order"; ties keep flow and ID order either way
	Page     Page
}

// FlowStageBindings places stages in flows.
type FlowStageBindings interface {
	Create(ctx context.Context, b *FlowStageBinding) error
	Get(ctx context.Context, id uuid.UUID) (*FlowStageBinding, error)
	// ListForFlow returns a flow's bindings by order.
	ListForFlow(ctx context.Context, flowID uuid.UUID) ([]*FlowStageBinding, error)
	// List returns a page of the bindings of every flow, in one query, and
	// their total: by order, then by flow (by slug, as Flows.List), then by ID.
	List(ctx context.Context, q FlowStageBindingQuery) ([]*FlowStageBinding, int, error)
	Update(ctx context.Context, id uuid.UUID, fn func(*FlowStageBinding) error) (*FlowStageBinding, error)
	Delete(ctx context.Context, id uuid.UUID) error
}

// PolicyBindings attaches policies, groups and users to targets.
type PolicyBindings interface {
	Create(ctx context.Context, b *PolicyBinding) error
	Get(ctx context.Context, id uuid.UUID) (*PolicyBinding, error)
	// ListForTargets returns the bindings of several targets in one query,
	// ordered by target then order.
	ListForTargets(ctx context.Context, targets ...uuid.UUID) ([]*PolicyBinding, error)
	Update(ctx context.Context, id uuid.UUID, fn func(*PolicyBinding) error) (*PolicyBinding, error)
	Delete(ctx context.Context, id uuid.UUID) error
	DeleteForTarget(ctx context.Context, target uuid.UUID) error
}

// Invitations is a tenant's enrollment invitations.
type Invitations interface {
	Create(ctx context.Context, i *Invitation) error
	Get(ctx context.Context, id uuid.UUID) (*Invitation, error)
	List(ctx context.Context, page Page) ([]*Invitation, int, error)
	Delete(ctx context.Context, id uuid.UUID) error
	// Use redeems an invitation in flow flowSlug at now, atomically: it
	// must exist, not have expired and be for that flow (or any flow),
	// and a single-use one is deleted by the same statement, so of two
	// concurrent uses exactly one succeeds. ErrNotFound otherwise.
	Use(ctx context.Context, id uuid.UUID, flowSlug string, now time.Time) (*Invitation, error)
}

// FlowTokens holds paused plans behind one-time links.
type FlowTokens interface {
	Create(ctx context.Context, t *FlowToken) error
	GetByKeyHash(ctx context.Context, hash []byte) (*FlowToken, error)
	Delete(ctx context.Context, id uuid.UUID) error
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// Consents remembers what users agreed to share.
type Consents interface {
	// Get returns the consent of user for target, ErrNotFound if none (or expired at now).
	Get(ctx context.Context, userID uuid.UUID, target string, now time.Time) (*Consent, error)
	// Put creates or replaces the consent of c.UserID for c.Target.
	Put(ctx context.Context, c *Consent) error
	ListForUser(ctx context.Context, userID uuid.UUID) ([]*Consent, error)
	Delete(ctx context.Context, id uuid.UUID) error
}

// Reputation scores identifiers and client IPs.
type Reputation interface {
	// Adjust adds delta to the (identifier, ip) score, clamped to [lower, upper].
	Adjust(ctx context.Context, identifier, ip string, delta, lower, upper int, expires time.Time) error
	// Scores sums the scores recorded for an IP and for an identifier.
	Scores(ctx context.Context, identifier, ip string, now time.Time) (byIdentifier, byIP int, err error)
	// Score sums the scores of the rows recorded for identifier or for ip,
	// each row once (Authentik's Q(identifier) | Q(ip)); "" matches nothing.
	Score(ctx context.Context, identifier, ip string, now time.Time) (int, error)
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}
