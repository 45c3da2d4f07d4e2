package oauth2

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// FulfillmentKind is the in-memory stage that ends an authorization flow
// by issuing the code or tokens.
const FulfillmentKind = "gatehouse_oauth2_fulfillment"

// StageKinds returns the stages this provider adds to the flow engine.
func (s *Service) StageKinds() map[string]flow.Factory {
	return map[string]flow.Factory{
		FulfillmentKind: func(cfg json.RawMessage) (flow.Stage, error) {
			f := &fulfillment{s: s}
			return provider.FulfilStage(f), json.Unmarshal(cfg, &f.ar)
		},
		DeviceFulfillmentKind: func(cfg json.RawMessage) (flow.Stage, error) {
			f := &deviceFulfillment{s: s}
			return provider.FulfilStage(f), json.Unmarshal(cfg, f)
		},
	}
}

// fulfillment answers an authorization request: the code or tokens, or
// access_denied, go to the client's redirect URI.
type fulfillment struct {
	s  *Service
	ar authRequest
}

func (f *fulfillment) Fulfil(ctx context.Context, x *flow.Execution) flow.Outcome {
	s, ar := f.s, &f.ar
	c, err := s.byClientID(ctx, x.Scope, ar.ClientID)
	if err != nil {
		return flow.Fail(err)
	}
	r := stageRequest(ctx)
	g := &grant{c: c, user: x.User, scopes: ar.Scopes, nonce: ar.Nonce, authTime: x.Session.Data.AuthTime,
		amr: x.Session.Data.AMR, sessionID: uuid.NullUUID{UUID: x.Session.ID(), Valid: true}}
	params := url.Values{}
	if ar.has("code") {
		code := randomToken(32)
		g.grantID = uuid.Must(uuid.NewV7())
		g.code = code
		data, _ := json.Marshal(codeData{RedirectURI: ar.RedirectURI, Scopes: ar.Scopes, Nonce: ar.Nonce,
			Challenge: ar.CodeChallenge, Method: ar.CodeChallengeMethod, AuthTime: g.authTime, AMR: g.amr})
		a := &store.Artifact{ID: g.grantID, Kind: kindCode, KeyHash: crypto.HashToken(code), ProviderID: c.provider.ID,
			UserID: uuid.NullUUID{UUID: x.User.ID, Valid: true}, SessionID: g.sessionID, GrantID: g.grantID,
			Data: data, Expires: s.Now().Add(c.cfg.codeTTL)}
		if err := x.Scope.Artifacts().Create(ctx, a); err != nil {
			return flow.Fail(err)
		}
		params.Set("code", code)
	}
	g.accessToken, g.idToken = ar.has("token"), ar.has("id_token")
	if g.accessToken || g.idToken {
		resp, err := s.issue(ctx, r, x.Scope, g)
		if err != nil {
			return flow.Fail(err)
		}
		if resp.AccessToken != "" {
			params.Set("access_token", resp.AccessToken)
			params.Set("token_type", "Bearer")
			params.Set("expires_in", strconv.Itoa(resp.ExpiresIn))
		}
		if resp.IDToken != "" {
			params.Set("id_token", resp.IDToken)
		}
	}
	if ar.State != "" {
		params.Set("state", ar.State)
	}
	s.event(r, x.Scope, "authorize_application", x.User, c, map[string]any{"authorized": true, "scopes": ar.Scopes,
		"flow": x.Flow.Slug})
	return respond(ar, params, c.app.Name)
}

// Denied answers the client when the authorization flow is denied before
// the fulfillment runs: the Deny button of a consent stage, or any other
// stage that refuses. RFC 6749 §4.1.2.1 sends access_denied to the
// redirect URI, with the state, in the request's response mode; leaving
// the user on our access-denied page would strand them outside the
// application, which never learns the request ended.
func (f *fulfillment) Denied(ctx context.Context, x *flow.Execution, reason string) (flow.Outcome, bool) {
	s, ar := f.s, &f.ar
	c, err := s.byClientID(ctx, x.Scope, ar.ClientID)
	if err != nil {
		return flow.Fail(err), true
	}
	desc := "the authorization flow denied the request"
	if reason == "consent" {
		desc = "the user denied the request"
	}
	s.event(stageRequest(ctx), x.Scope, "authorize_application", x.User, c, map[string]any{"authorized": false,
		"reason": reason, "flow": x.Flow.Slug})
	params := url.Values{"error": {"access_denied"}, "error_description": {desc}}
	if ar.State != "" {
		params.Set("state", ar.State)
	}
	return respond(ar, params, c.app.Name), true
}

// stageRequest stands for the HTTP request a stage of this provider runs
// in, as issue and event read it: only its context, where the server put
// the request's httpx.Info (the issuer's base, the client's address). The
// flow engine hands stages no HTTP request; these stages run in
// authorization flows, which only HTTP front ends run. Its form is empty,
// so tokens issued here count as the implicit grant's.
func stageRequest(ctx context.Context) *http.Request { return (&http.Request{}).WithContext(ctx) }

// respond ends the flow by sending params to the client in the request's
// response mode: a redirect, or for form_post a page that posts them.
func respond(ar *authRequest, params url.Values, title string) flow.Outcome {
	to, form := responseTarget(ar, params)
	if form != nil {
		return flow.Final(&flow.AutosubmitChallenge{Base: flow.Base{Component: flow.ComponentAutosubmit},
			URL: ar.RedirectURI, Attrs: form, Title: title})
	}
	return flow.RedirectTo(to)
}
