package oauth2_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const grantDevice = "urn:ietf:params:oauth:grant-type:device_code"

// deviceStart is the device authorization endpoint's answer.
type deviceStart struct {
	DeviceCode string `json:"device_code"`
	UserCode   string `json:"user_code"`
	Interval   int    `json:"interval"`
}

// startDevice asks for a device code for client id.
func (e *grantEnv) startDevice(id, secret, scope string) deviceStart {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/application/o/device/",
		strings.NewReader(url.Values{"scope": {scope}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var d deviceStart
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != http.StatusOK || d.DeviceCode == "" {
		e.t.Fatalf("device authorization: %d, %+v, %v", resp.StatusCode, d, err)
	}
	return d
}

// answer enters the user code on /device and allows or denies.
func (b *browser) answer(userCode, action string) page {
	b.e.t.Helper()
	confirm := b.get("/device?code=" + url.QueryEscape(userCode))
	if confirm.status != http.StatusOK {
		b.e.t.Fatalf("/device?code=: %d %q", confirm.status, confirm.loc)
	}
	return b.post("/device", url.Values{"csrf_token": {confirm.csrf(b.e.t)}, "code": {userCode}, "action": {action}})
}

func TestDeviceCodeGrant(t *testing.T) {
	t.Parallel()
	e := newGrantEnv(t)
	alice := e.user("alice")
	id, secret := e.app("tv", nil)
	otherID, otherSecret := e.app("other", nil)
	b := e.browser(alice)
	poll := func(id, secret, code string) tokenAnswer {
		return e.token(id, secret, url.Values{"grant_type": {grantDevice}, "device_code": {code}})
	}

	t.Run("approved", func(t *testing.T) {
		d := e.startDevice(id, secret, "openid profile offline_access")
		if d.Interval != 5 {
			t.Errorf("interval = %d, want 5", d.Interval)
		}
		poll(id, secret, d.DeviceCode).wantError(t, "before the user answers", 400, "authorization_pending")
		poll(id, secret, d.DeviceCode).wantError(t, "polling at once again", 400, "slow_down")
		if pg := b.answer(d.UserCode, "allow"); pg.status != http.StatusFound || pg.loc != "/device" {
			t.Fatalf("allow: want the implicit-consent flow to end on /device, got %d %q", pg.status, pg.loc)
		}
		a := poll(id, secret, d.DeviceCode)
		a.wantTokens(t, "after the approval", true, true)
		if _, name := e.userinfo(a.AccessToken); name != "alice" {
			t.Errorf("userinfo: %q, want alice", name)
		}
		poll(id, secret, d.DeviceCode).wantError(t, "the device code again", 400, "invalid_grant")
		if status, _ := e.userinfo(a.AccessToken); status != http.StatusUnauthorized {
			t.Errorf("the tokens after the device code's replay: %d, want 401 (revoked)", status)
		}
	})
	t.Run("denied", func(t *testing.T) {
		d := e.startDevice(id, secret, "openid")
		if pg := b.answer(d.UserCode, "deny"); pg.status != http.StatusSeeOther || pg.loc != "/device" {
			t.Fatalf("deny: want a redirect to the outcome page, got %d %q", pg.status, pg.loc)
		}
		poll(id, secret, d.DeviceCode).wantError(t, "after Deny", 400, "access_denied")
	})
	t.Run("errors", func(t *testing.T) {
		d := e.startDevice(id, secret, "openid")
		poll(id, secret, "").wantError(t, "no device_code", 400, "invalid_request")
		poll(id, secret, "not-a-code").wantError(t, "unknown device code", 400, "invalid_grant")
		poll(otherID, otherSecret, d.DeviceCode).wantError(t, "another client's device code", 400, "invalid_grant")
		poll(id, "wrong", d.DeviceCode).wantError(t, "wrong client secret", 401, "invalid_client")
		e.advance(11 * time.Minute) // device codes live at least ten minutes
		defer e.resetClock()
		poll(id, secret, d.DeviceCode).wantError(t, "an expired device code", 400, "expired_token")
	})
}
