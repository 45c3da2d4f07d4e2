package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// deviceCodeGrant is the device's poll at the token endpoint (RFC 8628
// §3.4): pending until the user answers on /device, then the tokens once.
type deviceCodeGrant struct{ s *Service }

// deviceCode is the device code as the grant redeems it: expiry is
// RFC 8628's expired_token, which tells the device to start again.
var deviceCode = redeemable{param: "device_code", kind: kindDevice, noun: "device code", replay: "device code used twice",
	expired: errExpiredToken}

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

func (g deviceCodeGrant) token(ctx context.Context, r *http.Request, sc store.Scope, c *client) (*tokenResponse, *Error) {
	s := g.s
	var d deviceData
	a, e := s.redeem(ctx, r, sc, c, deviceCode, &d)
	if e != nil {
		return nil, e
	}
	dec, err := sc.Artifacts().GetByKey(ctx, kindDeviceDecision, decisionKey(a.ID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, s.pollPending(ctx, sc, a, &d, s.Now())
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
	if e := s.consume(ctx, r, sc, c, deviceCode, a); e != nil {
		return nil, e
	}
	u, e := s.activeUser(ctx, sc, dec.UserID)
	if e != nil {
		return nil, e
	}
	return s.issued(ctx, r, sc, &grant{c: c, user: u, scopes: d.Scopes, authTime: dd.AuthTime, amr: dd.AMR,
		sessionID: dec.SessionID, grantID: a.GrantID, accessToken: true, idToken: slices.Contains(d.Scopes, "openid"),
		refresh: slices.Contains(d.Scopes, "offline_access")})
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
