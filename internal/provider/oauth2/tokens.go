package oauth2

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Artifact kinds this provider stores.
const (
	kindCode    = "oauth2_code"
	kindAccess  = "oauth2_access_token"
	kindRefresh = "oauth2_refresh_token"
	kindDevice  = "oauth2_device_code"
	kindPAR     = "oauth2_par"
)

// ACR is Authentik's only authentication context class.
const ACR = "goauthentik.io/providers/oauth2/default"

// grant is what a token is issued for.
type grant struct {
	c         *client
	user      *store.User
	scopes    []string
	nonce     string
	authTime  time.Time
	amr       []string
	sessionID uuid.NullUUID
	// grantID ties every token of one authorization together.
	grantID uuid.UUID
	// code, when the tokens come from the authorize endpoint of a hybrid
	// flow, is hashed into c_hash.
	code        string
	idToken     bool
	refresh     bool
	accessToken bool
}

// tokenData is stored with access and refresh tokens.
type tokenData struct {
	Scopes   []string  `json:"scopes"`
	Nonce    string    `json:"nonce,omitempty"`
	AuthTime time.Time `json:"auth_time,omitzero"`
	AMR      []string  `json:"amr,omitempty"`
	ClientID string    `json:"client_id"`
	JTI      string    `json:"jti,omitempty"`
}

// tokenResponse is RFC 6749 §5.1's, with OpenID Connect's id_token.
type tokenResponse struct {
	AccessToken  string `json:"access_token,omitempty"`
	TokenType    string `json:"token_type,omitempty"`
	ExpiresIn    int    `json:"expires_in,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sidFor is the OIDC sid: a hash of the session, so it can be published
// to clients without revealing the session identifier.
func sidFor(id uuid.NullUUID) string {
	if !id.Valid {
		return ""
	}
	h := sha256.Sum256([]byte(id.UUID.String()))
	return hex.EncodeToString(h[:16])
}

// halfHash is at_hash / c_hash: the left half of the token's hash with the
// hash function of the signing algorithm, base64url.
func halfHash(alg, value string) string {
	var h hash.Hash = sha256.New()
	switch {
	case strings.HasSuffix(alg, "384"):
		h = sha512.New384()
	case strings.HasSuffix(alg, "512"), alg == "EdDSA":
		h = sha512.New()
	}
	h.Write([]byte(value))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// issue mints what g asks for: a JWT access token (RFC 9068), an ID token,
// a refresh token. Access and refresh tokens are recorded (hash only) so
// they can be introspected and revoked.
func (s *Service) issue(ctx context.Context, r *http.Request, sc store.Scope, g *grant) (*tokenResponse, error) {
	now := s.Now().UTC().Truncate(time.Second)
	sign, err := s.signer(ctx, sc, g.c)
	if err != nil {
		return nil, err
	}
	iss := s.issuer(r, g.c)
	sub := subject(g.c, sc.TenantID(), g.user)
	clientID := g.c.provider.ClientID
	report := func(name string, err error) {
		s.event(r, sc, "property_mapping_exception", g.user, g.c, map[string]any{"mapping": name, "message": err.Error()})
	}
	claims, err := s.claims(ctx, sc, g.c, g.user, g.scopes, report)
	if err != nil {
		return nil, err
	}
	if g.grantID == uuid.Nil {
		g.grantID = uuid.Must(uuid.NewV7())
	}
	accessExp := now.Add(g.c.cfg.accessTTL)
	base := func(exp time.Time) map[string]any {
		m := map[string]any{}
		for k, v := range claims {
			m[k] = v
		}
		m["iss"], m["sub"], m["aud"], m["exp"], m["iat"] = iss, sub, clientID, exp.Unix(), now.Unix()
		m["azp"] = clientID
		if !g.authTime.IsZero() {
			m["auth_time"] = g.authTime.Unix()
			m["acr"] = ACR
		}
		if len(g.amr) > 0 {
			m["amr"] = g.amr
		}
		if sid := sidFor(g.sessionID); sid != "" {
			m["sid"] = sid
		}
		return m
	}
	resp := &tokenResponse{Scope: strings.Join(g.scopes, " ")}
	if g.accessToken {
		at := base(accessExp)
		jti := randomToken(16)
		at["jti"], at["client_id"], at["scope"] = jti, clientID, resp.Scope
		tok, err := sign.Sign(at, "at+jwt")
		if err != nil {
			return nil, err
		}
		if err := s.record(ctx, sc, g, kindAccess, tok, accessExp, tokenData{Scopes: g.scopes, Nonce: g.nonce,
			AuthTime: g.authTime, AMR: g.amr, ClientID: clientID, JTI: jti}); err != nil {
			return nil, err
		}
		resp.AccessToken, resp.TokenType, resp.ExpiresIn = tok, "Bearer", int(g.c.cfg.accessTTL.Seconds())
	}
	if g.idToken {
		idt := map[string]any{}
		if g.c.cfg.IncludeClaimsInIDToken {
			idt = base(accessExp) // ID token lifetime = access token lifetime, as Authentik
		} else {
			full := base(accessExp)
			for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "azp", "auth_time", "acr", "amr", "sid"} {
				if v, ok := full[k]; ok {
					idt[k] = v
				}
			}
		}
		if g.nonce != "" {
			idt["nonce"] = g.nonce
		}
		if resp.AccessToken != "" {
			idt["at_hash"] = halfHash(sign.Algorithm(), resp.AccessToken)
		}
		if g.code != "" {
			idt["c_hash"] = halfHash(sign.Algorithm(), g.code)
		}
		if resp.IDToken, err = sign.Sign(idt, "JWT"); err != nil {
			return nil, err
		}
	}
	if g.refresh {
		rt := randomToken(48)
		if err := s.record(ctx, sc, g, kindRefresh, rt, now.Add(g.c.cfg.refreshTTL), tokenData{Scopes: g.scopes,
			Nonce: g.nonce, AuthTime: g.authTime, AMR: g.amr, ClientID: clientID}); err != nil {
			return nil, err
		}
		resp.RefreshToken = rt
	}
	if s.Issued != nil {
		gt := r.PostForm.Get("grant_type")
		if gt == "" {
			gt = "implicit" // tokens from the authorization endpoint
		}
		s.Issued(g.c.provider.Name, gt)
	}
	return resp, nil
}

func (s *Service) record(ctx context.Context, sc store.Scope, g *grant, kind, secret string, exp time.Time, d tokenData) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	a := &store.Artifact{Kind: kind, KeyHash: crypto.HashToken(secret), ProviderID: g.c.provider.ID,
		UserID: uuid.NullUUID{UUID: g.user.ID, Valid: true}, SessionID: g.sessionID, GrantID: g.grantID,
		Data: data, Expires: exp}
	return sc.Artifacts().Create(ctx, a)
}

// lookupToken finds a live access token by its value.
func (s *Service) lookupToken(ctx context.Context, sc store.Scope, kind, value string) (*store.Artifact, *tokenData, error) {
	if value == "" || len(value) > 8192 {
		return nil, nil, store.ErrNotFound
	}
	a, err := sc.Artifacts().GetByKey(ctx, kind, crypto.HashToken(value))
	if err != nil {
		return nil, nil, err
	}
	if !a.Usable(s.Now()) {
		return nil, nil, store.ErrNotFound
	}
	var d tokenData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		return nil, nil, err
	}
	return a, &d, nil
}
