package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flowhttp"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/session/sessionhttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DefaultAuthorizationFlow is run when a provider names no authorization
// flow, or one that no longer exists.
const DefaultAuthorizationFlow = "default-provider-authorization-implicit-consent"

// BrowserSession loads the browser's session and its logged-in user (nil
// when nobody is, or the user is gone or inactive).
func (e *Env) BrowserSession(ctx context.Context, r *http.Request, sc store.Scope) (*session.Session, *store.User, error) {
	sess, err := e.Sessions.Load(ctx, r, sc)
	if err != nil {
		return nil, nil, err
	}
	uid := sess.UserID()
	if !uid.Valid {
		return sess, nil, nil
	}
	u, err := sc.Users().Get(ctx, uid.UUID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.IsActive) {
		return sess, nil, nil
	}
	return sess, u, err
}

// FlowSlug is the slug of the flow a provider's settings name by ID ("" when
// the setting is empty or the flow is gone).
func FlowSlug(ctx context.Context, sc store.Scope, id string) string {
	fid, err := uuid.Parse(id)
	if err != nil {
		return ""
	}
	f, err := sc.Flows().Get(ctx, fid)
	if err != nil {
		return ""
	}
	return f.Slug
}

// AuthenticationURL is where a provider's users log in, with query q (next,
// login_hint): its authentication flow (the flow ID its settings name),
// else the tenant's default one.
func AuthenticationURL(ctx context.Context, sc store.Scope, flowID string, q url.Values) string {
	if slug := FlowSlug(ctx, sc, flowID); slug != "" {
		return flow.FlowURL(slug) + "?" + q.Encode()
	}
	return "/flows/-/default/authentication/?" + q.Encode()
}

// Authorization is one run of a provider's authorization flow for the
// logged-in user.
type Authorization struct {
	App *store.Application
	// Flow is the provider's authorization flow as its settings name it
	// (an ID); "" or a flow that is gone runs DefaultAuthorizationFlow.
	Flow string
	// Permissions are what the consent page lists (OAuth scopes with a
	// description).
	Permissions []flow.ConsentPermission
	// ForceConsent asks for consent even when it is remembered, exactly
	// once (OpenID Connect's prompt=consent).
	ForceConsent bool
	// Fulfil is the kind's last stage (FulfilStage): it answers whoever
	// asked once the flow's own stages have passed.
	Fulfil flow.Binding
	// Waiting, when a stage needs the user (consent), may answer instead
	// of sending the browser to the flow pages (OpenID Connect's
	// prompt=none); it reports whether it did. Nil: the flow pages.
	Waiting func() bool
}

// Authorize runs a's flow for user and answers with what the flow shows
// first: the redirect or page the fulfilment ends with when no stage needs
// the user (implicit consent), else the flow pages. An error is returned
// before anything is written, for the caller's error page.
func (e *Env) Authorize(w http.ResponseWriter, r *http.Request, sc store.Scope, sess *session.Session,
	user *store.User, a Authorization) error {
	ctx := r.Context()
	var extra []flow.Binding
	if a.ForceConsent {
		var err error
		if extra, err = e.forceConsent(ctx, sc, user, a.App, a.Flow); err != nil {
			return err
		}
	}
	extra = append(extra, a.Fulfil)
	slug := FlowSlug(ctx, sc, a.Flow)
	if slug == "" {
		slug = DefaultAuthorizationFlow
	}
	fctx := flow.Context{
		flow.KeyApplication: a.App.Slug, flow.KeyApplicationName: a.App.Name, flow.KeyIsSSO: true,
		flow.KeyConsentTarget: a.App.ID.String(), flow.KeyConsentPermissions: a.Permissions,
		flow.KeyConsentHeader: a.App.Name + " would like to access:",
	}
	res := e.Executor.Run(ctx, &flow.Request{Slug: slug, Client: flowhttp.Client(r), Scope: sc, Session: sess,
		User: user, Fresh: true, Extra: extra, Context: fctx})
	sessionhttp.SetCookies(w, res.Cookies)
	if rc, ok := res.Challenge.(*flow.RedirectChallenge); ok {
		if err := e.Sessions.Save(ctx, w, r, sess); err != nil {
			return err
		}
		http.Redirect(w, r, rc.To, http.StatusFound)
		return nil
	}
	switch res.Challenge.(type) {
	case *flow.AutosubmitChallenge, *flow.AccessDeniedChallenge, *flow.FlowErrorChallenge:
		if err := e.Sessions.Save(ctx, w, r, sess); err != nil {
			return err
		}
		e.Web.Challenge(w, r, httpx.Lang(r), flowhttp.Status(res), res.Challenge)
		return nil
	}
	if a.Waiting != nil && a.Waiting() {
		return nil
	}
	// A stage needs the user (consent): continue in the flow pages.
	if err := e.Sessions.Save(ctx, w, r, sess); err != nil {
		return err
	}
	http.Redirect(w, r, flow.FlowURL(slug), http.StatusFound)
	return nil
}

// consentCheckKind checks, after the authorization flow's own stages,
// whether one of them already asked for consent during this request. The
// name is what plans in flight store, so it keeps the protocol it was
// first written for.
const consentCheckKind = "gatehouse_oauth2_prompt_consent"

// alwaysConsent is the consent stage ForceConsent adds.
var alwaysConsent = flow.Binding{Kind: "consent", Config: json.RawMessage(`{"mode":"always_require"}`)}

// forceConsent returns the stages that make the user consent exactly once
// (OIDC Core 3.1.2.1), after the authorization flow's own: nothing when the
// flow has a consent stage that always asks; else a consent stage that
// always asks, preceded by a check that drops it when the flow's own
// consent stage asked (it stored a new consent) instead of skipping
// because the consent was remembered.
func (e *Env) forceConsent(ctx context.Context, sc store.Scope, user *store.User, app *store.Application, flowID string) ([]flow.Binding, error) {
	fid, err := uuid.Parse(flowID)
	if err == nil {
		binds, err := sc.FlowStageBindings().ListForFlow(ctx, fid)
		if err != nil {
			return nil, err
		}
		ids := make([]uuid.UUID, 0, len(binds))
		for _, b := range binds {
			ids = append(ids, b.StageID)
		}
		stages, err := sc.Stages().GetMany(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, st := range stages {
			var cfg struct{ Mode string }
			if st.Kind == "consent" && json.Unmarshal(st.Config, &cfg) == nil && cfg.Mode == "always_require" {
				return nil, nil
			}
		}
	}
	check := consentCheck{Target: app.ID.String()}
	if prev, err := sc.Consents().Get(ctx, user.ID, check.Target, e.Now()); err == nil {
		check.Before = prev.ID.String()
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	cfg, _ := json.Marshal(check)
	return []flow.Binding{{Kind: consentCheckKind, Config: cfg}, alwaysConsent}, nil
}
