package oauth2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The device authorization grant (RFC 8628) at Authentik's paths. A device
// without a usable browser (a television, a command line) asks
// /application/o/device/ for a device code and a short user code, shows the
// user code, and polls the token endpoint. The user opens /device on a
// phone or computer, enters the code, logs in, and allows or denies; allow
// runs the provider's authorization flow with DeviceFulfillmentKind at its
// end, as the authorization endpoint runs it with FulfillmentKind. This file
// is the device endpoint and the codes; grant_device_code.go is the poll at
// the token endpoint, device_page.go the pages where the user enters the code.
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
