package oauth2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The device authorization grant (RFC 8628) at Authentik's paths. A device
// without a usable browser (a television, a command line) asks
// /application/o/device/ for a device code and a short user code, shows the
// user code, and polls the token endpoint. The user opens /device on a
// phone or computer, enters the code, logs in, and allows or denies; allow
// runs the provider's authorization flow with DeviceFulfillmentKind at its
// end, as the authorization endpoint runs it with FulfillmentKind.
//
// The store's only compare-and-set operations are "insert unless the key
// exists" and "consume if live"; SetData overwrites unconditionally. So the
// state lives in three kinds of artifact, each written where one of those
// operations decides races:
//
//   - the device code (kindDevice), keyed by the hash of device_code, with
//     the hash of the user code as its second key; its data (client,
//     scopes, last poll) is written only by polls, and consuming it is the
//     redemption, so tokens are issued once;
//   - the decision (kindDeviceDecision), under a key derived from the
//     device code's ID: the first answer wins, and a poll writing its last
//     poll time can never overwrite an approval;
//   - poll claims (kindDevicePoll), keyed by the device code and the time
//     of the poll before: of two concurrent polls that both saw the same
//     last poll, one inserts the claim and is told authorization_pending,
//     the other is told slow_down.

const (
	grantDeviceCode    = "urn:ietf:params:oauth:grant-type:device_code"
	kindDeviceDecision = "oauth2_device_decision"
	kindDevicePoll     = "oauth2_device_poll"

	// DeviceFulfillmentKind is the in-memory stage that ends the
	// authorization flow of a device login by approving the device code.
	DeviceFulfillmentKind = "gatehouse_oauth2_device_fulfillment"

	// devicePath is Authentik's verification URI, at the root so that it
	// is short enough to type from a television screen.
	devicePath = "/device"

	// Authentik's component names for the two device pages.
	componentDeviceCode   = "ak-provider-oauth2-device-code"
	componentDeviceFinish = "ak-provider-oauth2-device-code-finish"

	// deviceInterval is the polling interval, RFC 8628's default and
	// Authentik's.
	deviceInterval = 5 * time.Second

	// minDeviceTTL bounds the device code's lifetime from below. Authentik
	// uses the access code validity, one minute by default: long enough
	// for a browser redirect, far too short for a person to pick up a
	// phone, log in with a second factor and type a code.
	minDeviceTTL = 10 * time.Minute

	// userCodeAlphabet is RFC 8628 §6.1's: consonants only, so a code
	// never spells a word, and no letters that read like digits.
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLength   = 8

	// deviceResultKey is the session value that carries the outcome to
	// the page shown after the flow's redirect.
	deviceResultKey = "oauth2_device_result"
)

// deviceData is stored with a device code.
type deviceData struct {
	ClientID string    `json:"client_id"`
	Scopes   []string  `json:"scopes"`
	LastPoll time.Time `json:"last_poll,omitzero"`
}

// deviceDecision is stored with the user's answer; the user and the
// session are the artifact's own columns, so logging out of that session
// revokes an approval the device has not yet collected.
type deviceDecision struct {
	Approved bool      `json:"approved"`
	AuthTime time.Time `json:"auth_time,omitzero"`
	AMR      []string  `json:"amr,omitempty"`
}

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

// deviceGrants is the token endpoint's side of the grant.
func (s *Service) deviceGrants() map[string]grantHandler {
	return map[string]grantHandler{grantDeviceCode: s.grantDeviceCode}
}

// deviceAuthorization is /application/o/device/ (RFC 8628 §3.1, §3.2).
func (s *Service) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if e := parseForm(w, r); e != nil {
		s.writeError(w, r, e)
		return
	}
	ctx := r.Context()
	sc := s.scope(r)
	c, e := s.authenticateClient(ctx, r, sc)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	knownClient(r, c)
	if ok, wait := s.deviceLimits().allowStart(r, sc, c.provider.ClientID); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.writeError(w, r, oerr(http.StatusTooManyRequests, "slow_down", "too many device authorization requests; try again later"))
		return
	}
	data, err := json.Marshal(deviceData{ClientID: c.provider.ClientID,
		Scopes: c.grantable(strings.Fields(r.PostForm.Get("scope")))})
	if err != nil {
		s.writeError(w, r, errServer(fmt.Errorf("encoding the device request: %w", err)))
		return
	}
	ttl := max(c.cfg.codeTTL, minDeviceTTL)
	deviceCode := randomToken(32)
	userCode, err := s.createDevice(ctx, sc, c, deviceCode, data, ttl)
	if err != nil {
		s.writeError(w, r, errServer(fmt.Errorf("device authorization: storing the device code: %w", err)))
		return
	}
	verify := s.baseURL(r) + devicePath
	writeJSON(w, map[string]any{
		"device_code":               deviceCode,
		"user_code":                 userCode,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?code=" + userCode,
		"expires_in":                int(ttl.Seconds()),
		"interval":                  int(deviceInterval.Seconds()),
	})
}

// createDevice stores a device code under a fresh user code and returns
// the user code as shown. A user code still held by another device code
// (live or awaiting cleanup) makes the insert fail; another draw is then
// all but certain to be free.
func (s *Service) createDevice(ctx context.Context, sc store.Scope, c *client, deviceCode string, data []byte, ttl time.Duration) (string, error) {
	var err error
	for range 3 {
		code := newUserCode()
		a := &store.Artifact{Kind: kindDevice, KeyHash: crypto.HashToken(deviceCode), AltKey: userCodeKey(code),
			ProviderID: c.provider.ID, Data: data, Expires: s.Now().Add(ttl)}
		err = sc.Artifacts().Create(ctx, a)
		if err == nil {
			return showUserCode(code), nil
		}
		if !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	return "", err
}

// newUserCode draws userCodeLength letters of the alphabet uniformly:
// bytes from 240 up are dropped, since 240 is the largest multiple of the
// alphabet's size that fits in a byte.
func newUserCode() string {
	const limit = 256 - 256%len(userCodeAlphabet)
	out := make([]byte, 0, userCodeLength)
	var buf [2 * userCodeLength]byte
	for len(out) < userCodeLength {
		rand.Read(buf[:])
		for _, b := range buf {
			if int(b) < limit && len(out) < userCodeLength {
				out = append(out, userCodeAlphabet[int(b)%len(userCodeAlphabet)])
			}
		}
	}
	return string(out)
}

// normalizeUserCode reads a user code as typed: any case, with or without
// the dash, with spaces or other punctuation anywhere (RFC 8628 §6.1 asks
// servers to ignore what is not in the alphabet). A letter or digit
// outside the alphabet is a typo, not punctuation, so it fails.
func normalizeUserCode(typed string) (string, bool) {
	if len(typed) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			return "", false
		}
	}
	if b.Len() != userCodeLength {
		return "", false
	}
	return b.String(), true
}

// showUserCode splits a normalized code in two halves, easier to read
// off a screen and to type.
func showUserCode(code string) string {
	return code[:userCodeLength/2] + "-" + code[userCodeLength/2:]
}

// userCodeKey is the stored lookup key of a normalized user code: a hash,
// like every other secret the store holds.
func userCodeKey(code string) string {
	return hex.EncodeToString(crypto.HashToken("oauth2-device-user-code:" + code))
}

// decisionKey is the one key a device code's decision can have.
func decisionKey(device uuid.UUID) []byte {
	return crypto.HashToken("oauth2-device-decision:" + device.String())
}

// pollKey is the claim of the poll that follows the one at prev.
func pollKey(device uuid.UUID, prev time.Time) []byte {
	return crypto.HashToken("oauth2-device-poll:" + device.String() + ":" + strconv.FormatInt(prev.UnixMicro(), 10))
}

// Errors of the device grant (RFC 8628 §3.5). RFC 6749 §5.2 answers all of
// them with 400, access_denied included.
func errPending() *Error {
	return oerr(400, "authorization_pending", "the user has not yet allowed or denied the request")
}
func errSlowDown() *Error {
	return oerr(400, "slow_down", "polling too fast: wait 5 seconds more than before between requests")
}
func errExpiredToken() *Error {
	return oerr(400, "expired_token", "the device code has expired; start again")
}
func errDeviceDenied(d string) *Error { return oerr(400, "access_denied", d) }

// grantDeviceCode is the device's poll at the token endpoint.
func (s *Service) grantDeviceCode(ctx context.Context, r *http.Request, sc store.Scope, c *client) (*tokenResponse, *Error) {
	code := r.PostForm.Get("device_code")
	if code == "" || len(code) > 512 {
		return nil, errInvalidRequest("device_code is required")
	}
	a, err := sc.Artifacts().GetByKey(ctx, kindDevice, crypto.HashToken(code))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidGrant("the device code is invalid")
	}
	if err != nil {
		return nil, errServer(fmt.Errorf("looking up the device code: %w", err))
	}
	if a.ProviderID != c.provider.ID {
		return nil, errInvalidGrant("the device code was issued to another client")
	}
	now := s.Now()
	if !a.ConsumedAt.IsZero() {
		return nil, s.replayed(ctx, r, sc, c, a, "device code used twice")
	}
	if !now.Before(a.Expires) {
		return nil, errExpiredToken()
	}
	var d deviceData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		return nil, errServer(fmt.Errorf("decoding the device code: %w", err))
	}
	dec, err := sc.Artifacts().GetByKey(ctx, kindDeviceDecision, decisionKey(a.ID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, s.pollPending(ctx, sc, a, &d, now)
	case err != nil:
		return nil, errServer(fmt.Errorf("looking up the device decision: %w", err))
	}
	var dd deviceDecision
	if err := json.Unmarshal(dec.Data, &dd); err != nil {
		return nil, errServer(fmt.Errorf("decoding the device decision: %w", err))
	}
	switch {
	case !dd.Approved:
		return nil, errDeviceDenied("the user denied the request")
	case !dec.ConsumedAt.IsZero():
		return nil, errDeviceDenied("the approval ended with the browser session it was given in")
	}
	if err := sc.Artifacts().Consume(ctx, a.ID, now); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, s.replayed(ctx, r, sc, c, a, "device code used twice")
		}
		return nil, errServer(fmt.Errorf("consuming the device code: %w", err))
	}
	u, e := s.activeUser(ctx, sc, dec.UserID)
	if e != nil {
		return nil, e
	}
	g := &grant{c: c, user: u, scopes: d.Scopes, authTime: dd.AuthTime, amr: dd.AMR, sessionID: dec.SessionID,
		grantID: a.GrantID, accessToken: true, idToken: slices.Contains(d.Scopes, "openid"),
		refresh: slices.Contains(d.Scopes, "offline_access")}
	resp, err := s.issue(ctx, r, sc, g)
	if err != nil {
		return nil, errServer(fmt.Errorf("token: issuing: %w", err))
	}
	return resp, nil
}

// pollPending answers a poll before the user decided: slow_down when it
// came sooner than the interval after the last one, else
// authorization_pending. The new poll time is written before the claim is
// inserted, so a failure between the two leaves a state the next poll
// continues from rather than one that says slow_down until expiry.
func (s *Service) pollPending(ctx context.Context, sc store.Scope, a *store.Artifact, d *deviceData, now time.Time) *Error {
	if now.Sub(d.LastPoll) < deviceInterval {
		return errSlowDown()
	}
	prev := d.LastPoll
	d.LastPoll = now
	data, err := json.Marshal(d)
	if err != nil {
		return errServer(fmt.Errorf("encoding the device poll: %w", err))
	}
	if err := sc.Artifacts().SetData(ctx, a.ID, a.UserID, data); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errInvalidGrant("the device code was used meanwhile")
		}
		return errServer(fmt.Errorf("recording the device poll: %w", err))
	}
	claim := &store.Artifact{Kind: kindDevicePoll, KeyHash: pollKey(a.ID, prev), ProviderID: a.ProviderID,
		GrantID: a.GrantID, Expires: a.Expires}
	if err := sc.Artifacts().Create(ctx, claim); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errSlowDown()
		}
		return errServer(fmt.Errorf("claiming the device poll: %w", err))
	}
	return errPending()
}

var errNoDevice = errors.New("no pending device code")

// msgCodeInvalid is i18n.DeviceCodeInvalid's English, sent with the code.
const msgCodeInvalid = "This code is not valid: it may have expired or been used already. Check the code on your device, or start again there."

// pendingDevice finds the live, undecided device code a user typed, and
// its client; errNoDevice covers unknown, malformed, expired, used and
// already decided codes alike.
func (s *Service) pendingDevice(ctx context.Context, sc store.Scope, typed string) (*store.Artifact, *client, *deviceData, error) {
	code, ok := normalizeUserCode(typed)
	if !ok {
		return nil, nil, nil, errNoDevice
	}
	a, err := sc.Artifacts().GetByAltKey(ctx, kindDevice, userCodeKey(code))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil, errNoDevice
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if !a.Usable(s.Now()) {
		return nil, nil, nil, errNoDevice
	}
	if _, err := sc.Artifacts().GetByKey(ctx, kindDeviceDecision, decisionKey(a.ID)); err == nil {
		return nil, nil, nil, errNoDevice
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil, err
	}
	var d deviceData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		return nil, nil, nil, err
	}
	c, err := s.byClientID(ctx, sc, d.ClientID)
	if errors.Is(err, errNoClient) || (err == nil && c.provider.ID != a.ProviderID) {
		return nil, nil, nil, errNoDevice
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return a, c, &d, nil
}

// decideDevice records the user's answer for device code a; false when
// another answer was recorded first.
func (s *Service) decideDevice(ctx context.Context, sc store.Scope, a *store.Artifact, u *store.User, sess *session.Session, approved bool) (bool, error) {
	data, err := json.Marshal(deviceDecision{Approved: approved, AuthTime: sess.Data.AuthTime, AMR: sess.Data.AMR})
	if err != nil {
		return false, err
	}
	dec := &store.Artifact{Kind: kindDeviceDecision, KeyHash: decisionKey(a.ID), ProviderID: a.ProviderID,
		UserID: uuid.NullUUID{UUID: u.ID, Valid: true}, SessionID: uuid.NullUUID{UUID: sess.ID(), Valid: true},
		GrantID: a.GrantID, Data: data, Expires: a.Expires}
	err = sc.Artifacts().Create(ctx, dec)
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	return err == nil, err
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
	lang := i18n.FromRequest(p.r)
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
