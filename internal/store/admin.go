package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Optional interfaces that the REST API's admin lists use when the backend
// has them (the SQL store does). They are separate from Tokens, Sessions
// and Roles so that adding them touched no shared interface while those
// were being edited; they belong in the main interfaces once the
// conformance suite covers them.

// TokenQuery filters a token list across users.
type TokenQuery struct {
	UserID   uuid.UUID // one user's tokens; Nil for every user's
	Intent   TokenIntent
	Search   string // substring of identifier or description, case-insensitive
	Ordering string // "identifier" (default), "expires", "created", each optionally with "-"
	Page     Page
}

// TokenLister lists tokens page by page.
type TokenLister interface {
	List(ctx context.Context, q TokenQuery) ([]*Token, int, error)
}

// SessionQuery filters a list of logged-in sessions.
type SessionQuery struct {
	UserID uuid.UUID // one user's sessions; Nil for every user's
	// Now hides sessions that expired by then (cleanup deletes them later).
	Now    time.Time
	Search string // substring of IP or user agent, case-insensitive
	Page   Page
}

// SessionLister lists logged-in sessions, most recently used first.
type SessionLister interface {
	List(ctx context.Context, q SessionQuery) ([]*Session, int, error)
}

// RoleEditor renames roles and reports their assignments.
type RoleEditor interface {
	// Rename changes a role's name (unique per tenant, ErrConflict).
	Rename(ctx context.Context, id uuid.UUID, name string) error
	// Assignments maps each role that is assigned to groups to them.
	Assignments(ctx context.Context) (map[uuid.UUID][]uuid.UUID, error)
}

// MaxSearchCount caps the total a user search counts, as MaxEventCount
// does for events: counting every match of a search that matches most of a
// large directory costs more than the page itself.
const MaxSearchCount = 10000
