package oauth2

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The pages of the device flow where a user enters the code a device shows
// (/device), logs in and allows or denies; the device's side is the device
// endpoint (device.go) and its grant (grant_device_code.go).

const (
	// Authentik's component names for the two device pages.
	componentDeviceCode   = "ak-provider-oauth2-device-code"
	componentDeviceFinish = "ak-provider-oauth2-device-code-finish"

	// deviceResultKey is the session value that carries the outcome to
	// the page shown after the flow's redirect.
	deviceResultKey = "oauth2_device_result"
)

// deviceResult is what the page after the flow tells the user.
type deviceResult struct {
	App      string `json:"app"`
	Approved bool   `json:"approved"`
}

// deviceCodeChallenge is the device page: the code form, or (Confirm) the
// question whether App may sign in on the device showing UserCode.
type deviceCodeChallenge struct {
	flow.Base
	Confirm  bool
	App      string
	UserCode string
}

// deviceFinishChallenge ends a device login in the browser.
type deviceFinishChallenge struct {
	flow.Base
	App      string
	Approved bool
}

// devicePage is /device. GET shows the code form (or, with ?code=, the
// verification_uri_complete link, looks the code up at once); a POST of
// the form looks the code up. A valid code needs a logged-in user, who is
// then asked to allow or deny; allowing runs the provider's authorization
// flow. Each lookup counts against the IP's throttle.
func (s *Service) devicePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sc := s.scope(r)
	sess, user, err := s.BrowserSession(ctx, r, sc)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	p := &devicePageRequest{s: s, w: w, r: r, sc: sc, sess: sess, user: user}
	typed, action := r.URL.Query().Get("code"), ""
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "malformed form", http.StatusBadRequest)
			return
		}
		typed, action = r.PostForm.Get("code"), r.PostForm.Get("action")
		if !sess.CheckCSRF(r.PostForm.Get("csrf_token")) {
			p.form(http.StatusForbidden, typed, i18n.FlowSessionExpired, "Your session expired, please try again.")
			return
		}
	} else if typed == "" {
		var res deviceResult
		if sess.Value(deviceResultKey, &res) {
			sess.SetValue(deviceResultKey, nil)
			p.show(http.StatusOK, &deviceFinishChallenge{Base: flow.Base{Component: componentDeviceFinish},
				App: res.App, Approved: res.Approved})
			return
		}
		p.form(http.StatusOK, "", "", "")
		return
	}
	if !p.allowLookup(typed) {
		return
	}
	a, c, d, err := s.pendingDevice(ctx, sc, typed)
	if errors.Is(err, errNoDevice) {
		p.form(http.StatusBadRequest, typed, i18n.DeviceCodeInvalid, msgCodeInvalid)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	code, _ := normalizeUserCode(typed)
	shown := showUserCode(code)
	if user == nil {
		if err := s.Sessions.Save(ctx, w, r, sess); err != nil {
			s.serverError(w, r, err)
			return
		}
		next := url.Values{"next": {devicePath + "?code=" + shown}}
		http.Redirect(w, r, provider.AuthenticationURL(ctx, sc, c.cfg.AuthenticationFlow, next), http.StatusFound)
		return
	}
	switch action {
	case "allow":
		p.allow(a, c, d)
	case "deny":
		p.deny(a, c, "user")
	default:
		p.show(http.StatusOK, &deviceCodeChallenge{Base: flow.Base{Component: componentDeviceCode},
			Confirm: true, App: c.app.Name, UserCode: shown})
	}
}

// devicePageRequest is one request to /device.
type devicePageRequest struct {
	s    *Service
	w    http.ResponseWriter
	r    *http.Request
	sc   store.Scope
	sess *session.Session
	user *store.User
}

// show renders a device page. The heading goes in as a flow title, which
// the renderer shows as given: it is translated here already.
func (p *devicePageRequest) show(status int, c flow.Challenge) {
	lang := httpx.Lang(p.r)
	b := flow.BaseOf(c)
	b.FlowInfo = &flow.FlowInfo{Title: i18n.T(lang, i18n.DeviceTitle, nil)}
	b.CSRFToken = p.sess.CSRFToken()
	if p.user != nil {
		b.PendingUser = p.user.Username
	}
	if err := p.s.Sessions.Save(p.r.Context(), p.w, p.r, p.sess); err != nil {
		p.s.serverError(p.w, p.r, err)
		return
	}
	p.s.Web.Challenge(p.w, p.r, lang, status, c)
}

// form shows the code form, with the typed code and a problem if any.
func (p *devicePageRequest) form(status int, typed, code, english string) {
	c := &deviceCodeChallenge{Base: flow.Base{Component: componentDeviceCode}, UserCode: typed}
	if len(c.UserCode) > 32 {
		c.UserCode = ""
	}
	if code != "" {
		c.AddError("code", code, english)
	}
	p.show(status, c)
}

// finish sends the browser to the page that tells the outcome; a redirect,
// so that reloading it posts nothing again.
func (p *devicePageRequest) finish(app string, approved bool) {
	p.sess.SetValue(deviceResultKey, deviceResult{App: app, Approved: approved})
	if err := p.s.Sessions.Save(p.r.Context(), p.w, p.r, p.sess); err != nil {
		p.s.serverError(p.w, p.r, err)
		return
	}
	http.Redirect(p.w, p.r, devicePath, http.StatusSeeOther)
}

// deny records a refusal, so the device stops polling with access_denied
// instead of waiting for the code to expire. reason is "user" (the Deny
// button) or "policy" (the application's policies refused the user).
func (p *devicePageRequest) deny(a *store.Artifact, c *client, reason string) {
	ok, err := p.s.decideDevice(p.r.Context(), p.sc, a, p.user, p.sess, false)
	if err != nil {
		p.s.serverError(p.w, p.r, err)
		return
	}
	if !ok {
		p.form(http.StatusBadRequest, "", i18n.DeviceCodeInvalid, msgCodeInvalid)
		return
	}
	p.s.event(p.r, p.sc, "authorize_application", p.user, c, map[string]any{"authorized": false, "reason": reason,
		"grant_type": grantDeviceCode})
	if reason == "policy" {
		p.s.Forbidden(p.w, p.r)
		return
	}
	p.finish(c.app.Name, false)
}

// allow checks the application's policies, then runs the provider's
// authorization flow with the device fulfillment at its end.
func (p *devicePageRequest) allow(a *store.Artifact, c *client, d *deviceData) {
	s := p.s
	if ok, err := s.Allowed(p.r.Context(), p.sc, c.app, p.user, provider.PolicyHTTP(p.r)); err != nil {
		s.serverError(p.w, p.r, err)
		return
	} else if !ok {
		p.deny(a, c, "policy")
		return
	}
	cfg, err := json.Marshal(deviceFulfillment{Device: a.ID, ClientID: c.provider.ClientID})
	if err != nil {
		s.serverError(p.w, p.r, err)
		return
	}
	err = s.Authorize(p.w, p.r, p.sc, p.sess, p.user, provider.Authorization{App: c.app, Flow: c.cfg.AuthorizationFlow,
		Permissions: c.permissions(d.Scopes), Fulfil: flow.Binding{Kind: DeviceFulfillmentKind, Config: cfg}})
	if err != nil {
		s.serverError(p.w, p.r, err)
	}
}
