// Package reqinfo carries what every front end learns about the request
// it serves, whatever the transport (HTTP today, an LDAP bind next): the
// request's ID, the client's address and user agent, the operation, and
// the admin behind an impersonation. The audit log reads it from the
// context, so that each event names where it came from.
//
// It imports nothing of HTTP: the audit log and, through the policy
// engine, the flow engine depend on it and must run without a web
// request. internal/httpx embeds Origin in the HTTP request's Info, so
// HTTP handlers fill and read both at once.
package reqinfo

import (
	"context"

	"github.com/google/uuid"
)

// Origin describes the request in progress.
type Origin struct {
	RequestID string
	ClientIP  string
	UserAgent string
	// Method and Path say what was asked (for HTTP, the method and path),
	// for audit events.
	Method, Path string
	// Impersonator is the admin behind the request's session while they
	// impersonate its user; the front end sets it when it loads such a
	// session, so that every event the request records names them.
	Impersonator uuid.NullUUID
}

type originKey struct{}

// With returns ctx carrying o.
func With(ctx context.Context, o *Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// From returns the request's Origin; never nil (an empty Origin outside a
// request, e.g. in jobs and unit tests).
func From(ctx context.Context) *Origin {
	if o, ok := ctx.Value(originKey{}).(*Origin); ok {
		return o
	}
	return &Origin{}
}
