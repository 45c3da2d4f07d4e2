package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// Mount adds the endpoints at Authentik's paths. The endpoints a browser
// app may call from its own origin go through withCORS (cors.go), which
// also answers their preflights.
func (s *Service) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /application/o/authorize/{$}", s.authorize)
	mux.HandleFunc("POST /application/o/authorize/{$}", s.authorize)
	for _, ep := range []struct {
		path    string
		methods []string
		policy  corsPolicy
		h       http.HandlerFunc
	}{
		{"/application/o/token/{$}", []string{"POST"}, corsClient, s.token},
		{"/application/o/userinfo/{$}", []string{"GET", "POST"}, corsClient, s.userinfo},
		{"/application/o/par/{$}", []string{"POST"}, corsClient, s.par},
		{"/application/o/introspect/{$}", []string{"POST"}, corsClient, s.introspect},
		{"/application/o/revoke/{$}", []string{"POST"}, corsClient, s.revoke},
		{"/application/o/device/{$}", []string{"POST"}, corsClient, s.deviceAuthorization},
		{"/application/o/{slug}/.well-known/openid-configuration", []string{"GET"}, corsPublic, s.discovery},
		{"/.well-known/oauth-authorization-server/application/o/{slug}/{$}", []string{"GET"}, corsPublic, s.discovery},
		{"/application/o/{slug}/jwks/{$}", []string{"GET"}, corsPublic, s.jwks},
	} {
		h := s.withCORS(ep.policy, ep.methods, ep.h)
		for _, m := range slices.Concat(ep.methods, []string{http.MethodOptions}) {
			mux.Handle(m+" "+ep.path, h)
		}
	}
	mux.HandleFunc("GET /application/o/{slug}/end-session/{$}", s.endSession)
	mux.HandleFunc("POST /application/o/{slug}/end-session/{$}", s.endSession)
	mux.HandleFunc("GET "+devicePath, s.devicePage)
	mux.Handle("POST "+devicePath, http.NewCrossOriginProtection().Handler(http.HandlerFunc(s.devicePage)))
	mux.HandleFunc("GET /application/o/{slug}/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/application/o/"+r.PathValue("slug")+"/.well-known/openid-configuration", http.StatusFound)
	})
}

// forbidden tells a user that the application's policies refuse them.
func (s *Service) forbidden(w http.ResponseWriter, r *http.Request) {
	s.Web.Page(w, r, httpx.Lang(r), http.StatusForbidden, web.PageForbidden, map[string]any{
		"MessageCode": i18n.OAuth2AccessDenied, "Message": "You do not have access to this application."})
}

func (s *Service) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.logError(r.Context(), "oauth2: request failed", err, "route", r.Pattern)
	s.Web.Page(w, r, httpx.Lang(r), http.StatusInternalServerError, "error", map[string]any{
		"Title": "Something went wrong", "RequestID": httpx.From(r.Context()).RequestID})
}

// writeFormPost answers with the OIDC form_post page (an autosubmitting form).
func (s *Service) writeFormPost(w http.ResponseWriter, r *http.Request, to string, form map[string]string) {
	s.Web.Challenge(w, r, httpx.Lang(r), http.StatusOK, &flow.AutosubmitChallenge{
		Base: flow.Base{Component: flow.ComponentAutosubmit}, URL: to, Attrs: form})
}

// repostWithCookie answers a form POST that another site's page sent
// without the session cookie (it is SameSite=Lax, so a cross-site POST
// never carries it) with a page of ours that posts the same form to the
// same address: from this origin the browser adds the cookie, and the
// request sees the user's session, as a cross-site GET does. It reports
// whether it answered. Requests with the cookie, from this origin or not
// from a browser go on at once, so the page is shown at most once.
func (s *Service) repostWithCookie(w http.ResponseWriter, r *http.Request, form url.Values) bool {
	if !httpx.CrossSite(r) {
		return false
	}
	if _, err := r.Cookie(session.CookieName); err == nil {
		return false
	}
	attrs := make(map[string]string, len(form))
	for k := range form {
		attrs[k] = form.Get(k)
	}
	s.writeFormPost(w, r, r.URL.RequestURI(), attrs)
	return true
}

// bearer extracts an RFC 6750 bearer token from the header or the form.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if r.Method == http.MethodPost {
		return r.PostFormValue("access_token")
	}
	return ""
}

// parseForm reads a bounded form body and refuses repeated parameters,
// which RFC 6749 §3.1 forbids.
func parseForm(w http.ResponseWriter, r *http.Request) *Error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return errInvalidRequest("the request body is not a valid form")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return errInvalidRequest("parameter " + k + " is repeated")
		}
	}
	return nil
}

// docCache keeps rendered discovery and JWKS documents: they depend only
// on the provider, its key and the host, and are fetched far more often
// than they change.
type docCache struct {
	mu sync.Mutex
	m  map[string]cachedDoc
}

type cachedDoc struct {
	body []byte
	at   time.Time
}

const docTTL = 30 * time.Second

// drop forgets the documents of tenant (every one for uuid.Nil); keys
// start with the tenant.
func (d *docCache) drop(tenant uuid.UUID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.m {
		if tenant == uuid.Nil || strings.HasPrefix(k, tenant.String()+"|") {
			delete(d.m, k)
		}
	}
}

func (d *docCache) get(key string, now time.Time, build func() ([]byte, error)) ([]byte, error) {
	d.mu.Lock()
	c, ok := d.m[key]
	d.mu.Unlock()
	if ok && now.Sub(c.at) < docTTL {
		return c.body, nil
	}
	b, err := build()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if d.m == nil || len(d.m) > 10_000 {
		d.m = map[string]cachedDoc{}
	}
	d.m[key] = cachedDoc{b, now}
	d.mu.Unlock()
	return b, nil
}

func (s *Service) discovery(w http.ResponseWriter, r *http.Request) {
	sc := s.scope(r)
	c, err := s.bySlug(r.Context(), sc, r.PathValue("slug"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	key := sc.TenantID().String() + "|disc|" + c.app.Slug + "|" + s.baseURL(r) + "|" + strconv.FormatInt(c.provider.UpdatedAt.UnixNano(), 36)
	body, err := s.docs.get(key, s.Now(), func() ([]byte, error) { return json.Marshal(s.discoveryDoc(r, sc, c)) })
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", hostCache(r))
	w.Write(body)
}

// discoveryDoc advertises exactly what is implemented. request_uri is
// OIDC Discovery's request object fetched from the client, which is not
// supported: only the PAR endpoint's own URNs are taken.
func (s *Service) discoveryDoc(r *http.Request, sc store.Scope, c *client) map[string]any {
	base := s.baseURL(r)
	alg := "HS256"
	if c.cfg.SigningKey != "" {
		if sg, err := s.signer(r.Context(), sc, c); err == nil {
			alg = sg.Algorithm()
		}
	}
	return map[string]any{
		"issuer":                                s.issuer(r, c),
		"authorization_endpoint":                base + "/application/o/authorize/",
		"token_endpoint":                        base + "/application/o/token/",
		"userinfo_endpoint":                     base + "/application/o/userinfo/",
		"end_session_endpoint":                  base + "/application/o/" + c.app.Slug + "/end-session/",
		"introspection_endpoint":                base + "/application/o/introspect/",
		"revocation_endpoint":                   base + "/application/o/revoke/",
		"device_authorization_endpoint":         base + "/application/o/device/",
		"pushed_authorization_request_endpoint": base + "/application/o/par/",
		"jwks_uri":                              base + "/application/o/" + c.app.Slug + "/jwks/",
		"response_types_supported":              responseTypes,
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"grant_types_supported": []string{"authorization_code", "refresh_token", "implicit", "client_credentials",
			"password", "urn:ietf:params:oauth:grant-type:device_code"},
		"id_token_signing_alg_values_supported": []string{alg},
		"subject_types_supported":               []string{"public"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post",
			"client_secret_jwt", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "RS384", "RS512", "ES256", "ES384",
			"EdDSA", "HS256", "HS384", "HS512"},
		"acr_values_supported":                           []string{ACR},
		"scopes_supported":                               c.supportedScopes(),
		"claims_supported":                               claimsSupported,
		"code_challenge_methods_supported":               []string{"plain", "S256"},
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"require_pushed_authorization_requests":          false,
		"claims_parameter_supported":                     false,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"frontchannel_logout_supported":                  false,
		"authorization_response_iss_parameter_supported": false,
	}
}

var claimsSupported = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "sid", "azp",
	"at_hash", "c_hash", "email", "email_verified", "name", "given_name", "preferred_username", "nickname", "groups"}

func (s *Service) jwks(w http.ResponseWriter, r *http.Request) {
	sc := s.scope(r)
	c, err := s.bySlug(r.Context(), sc, r.PathValue("slug"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	var body []byte
	if c.cfg.SigningKey == "" {
		body = []byte(`{"keys":[]}`) // HS256 with the client secret: nothing public to publish
	} else if body, err = s.Keys.JWKS(r.Context(), sc, mustID(c.cfg.SigningKey)); err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(body)
}

// par is RFC 9126: a confidential client posts its authorization request
// and gets a request_uri to send the browser with.
func (s *Service) par(w http.ResponseWriter, r *http.Request) {
	sc, c, ok := s.clientRequest(w, r, s.authenticateClient)
	if !ok {
		return
	}
	ctx := r.Context()
	params := url.Values{}
	for k, v := range r.PostForm {
		if k != "client_secret" && k != "client_assertion" && k != "client_assertion_type" {
			params[k] = v
		}
	}
	params.Set("client_id", c.provider.ClientID)
	if params.Get("request_uri") != "" {
		s.writeError(w, r, errInvalidRequest("request_uri cannot be pushed"))
		return
	}
	if _, rf, oe := parseAuthRequest(params, c); rf != nil {
		s.writeError(w, r, errInvalidRequest(rf.english()))
		return
	} else if oe != nil {
		s.writeError(w, r, oe)
		return
	}
	ref := randomToken(32)
	data, _ := json.Marshal(params)
	const ttl = 60 * time.Second
	a := &store.Artifact{Kind: kindPAR, KeyHash: crypto.HashToken(ref), ProviderID: c.provider.ID, Data: data,
		Expires: s.Now().Add(ttl)}
	if err := sc.Artifacts().Create(ctx, a); err != nil {
		s.writeError(w, r, errServer(fmt.Errorf("par: storing the request: %w", err)))
		return
	}
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, map[string]any{"request_uri": parPrefix + ref, "expires_in": int(ttl.Seconds())})
}

const parPrefix = "urn:ietf:params:oauth:request_uri:"

// pushedRequest resolves a request_uri once (single use) for clientID.
// Only the URIs the PAR endpoint issued are accepted: fetching a request
// object from another server is not supported (discovery says
// request_uri_parameter_supported: false).
func (s *Service) pushedRequest(ctx context.Context, sc store.Scope, uri, clientID string) (url.Values, *refusal, error) {
	ref, ok := strings.CutPrefix(uri, parPrefix)
	if !ok {
		return nil, &refusal{code: i18n.OAuth2RequestURIForeign, detail: map[string]any{"request_uri": clip(uri), "client_id": clip(clientID)}}, nil
	}
	invalid := &refusal{code: i18n.OAuth2RequestURIInvalid, detail: map[string]any{"client_id": clip(clientID)}}
	a, err := sc.Artifacts().GetByKey(ctx, kindPAR, crypto.HashToken(ref))
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("authorize: looking up the pushed request: %w", err)
	}
	if !a.Usable(s.Now()) {
		return nil, invalid, nil
	}
	if err := sc.Artifacts().Consume(ctx, a.ID, s.Now()); isGone(err) {
		return nil, invalid, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("authorize: consuming the pushed request: %w", err)
	}
	var q url.Values
	if json.Unmarshal(a.Data, &q) != nil || q.Get("client_id") != clientID {
		return nil, invalid, nil
	}
	return q, nil, nil
}

// hostCache is the Cache-Control of a document that names this request's
// host when no external_url pins it: a shared cache may keep it only when
// that host is one the operator vouched for, so a forged Host reaches no
// one else.
func hostCache(r *http.Request) string {
	if httpx.From(r.Context()).PublicURL == "" {
		return "private, max-age=300"
	}
	return "public, max-age=300"
}
