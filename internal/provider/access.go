package provider

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// Allowed evaluates the application's policy bindings for u: whether u may
// use the application, whatever the protocol. An application without
// bindings is open to every authenticated user (Authentik's default). req
// describes the HTTP request for expression policies; nil when there is
// none (an LDAP bind).
func (e *Env) Allowed(ctx context.Context, sc store.Scope, app *store.Application, u *store.User, req *policy.HTTPRequest) (bool, error) {
	binds, err := sc.PolicyBindings().ListForTargets(ctx, app.ID)
	if err != nil || len(binds) == 0 {
		return err == nil, err
	}
	pols, err := policy.Load(ctx, sc, binds)
	if err != nil {
		return false, err
	}
	preq := &policy.Request{Scope: sc, User: u, Context: map[string]any{"application": app.Slug}, HTTP: req}
	res := e.Policies.Evaluate(ctx, preq, binds, pols, policy.Options{Mode: app.PolicyEngineMode, EmptyResult: true})
	return res.Passing, nil
}

// PolicyHTTP describes r to the application's policies (request.http_request).
func PolicyHTTP(r *http.Request) *policy.HTTPRequest {
	return &policy.HTTPRequest{Method: r.Method, Path: r.URL.Path, Host: r.Host, UserAgent: r.UserAgent()}
}

// Forbidden tells a user that the application's policies refuse them.
func (e *Env) Forbidden(w http.ResponseWriter, r *http.Request) {
	e.Web.Page(w, r, httpx.Lang(r), http.StatusForbidden, web.PageForbidden, map[string]any{
		"MessageCode": i18n.OAuth2AccessDenied, "Message": "You do not have access to this application."})
}
