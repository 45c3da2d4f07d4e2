package flow

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DeviceCookie marks a browser that has logged in to an account before.
const DeviceCookie = "gatehouse_device"

// maxKnownAccounts bounds the accounts one browser is remembered for (a
// shared computer); the oldest is forgotten first.
const maxKnownAccounts = 4

// LoginThrottle is the one gate in front of every password check (the
// password stage, and the identification stage's inline password).
//
// A browser that is not known to the account spends three budgets at once:
// its client IP's, the account's and the tenant's. The client IP can be
// spoofed through a trusted proxy, so the account and tenant budgets are
// what bounds an attacker who rotates it: one account cannot be guessed
// faster than its budget, nor many accounts faster than the tenant's.
//
// The account is what the identifier resolved to, so a username and an
// email share one budget; an identifier that matches no account is keyed
// on its normalised form and costs the same.
//
// A spent budget slows down, it does not lock: the next attempt is allowed
// when a token has been earned back. So that strangers who keep the
// account's budget spent cannot keep its owner out, a browser that has
// logged in to the account before (DeviceCookie, sealed to the tenant and
// account) spends only a budget of its own. Budgets are spent before the
// password is checked, so parallel attempts cannot overrun them, and a
// success gives its token back: budgets count failures.
type LoginThrottle struct {
	// IP, Account and Global are the budgets of browsers not known to the
	// account: per tenant and client IP, per tenant and account, per tenant.
	IP, Account, Global *ratelimit.Limiter
	// Device is the budget of each browser known to the account.
	Device *ratelimit.Limiter
	// Box seals the device cookie; nil turns known devices off.
	Box *secretbox.Box
	// DeviceAge is how long a browser stays known after its last login.
	DeviceAge time.Duration
}

// Attempt is a password attempt the throttle let through.
type Attempt struct {
	t   *LoginThrottle
	now time.Time
	// device is the known browser's budget key; spent are the three
	// budgets of an unknown one.
	device string
	spent  []ratelimit.Budget
}

// Begin spends the budgets of one password attempt against u (nil when
// the identifier typed matched no account). When a budget is spent it
// takes nothing and returns how long to wait.
func (t *LoginThrottle) Begin(x *Execution, u *store.User, typed string) (*Attempt, time.Duration) {
	a := &Attempt{t: t, now: x.Env.Now()}
	if t == nil {
		return a, 0
	}
	tenant := x.Scope.TenantID().String()
	if nonce := t.knownDevice(x, u); nonce != "" {
		a.device = tenant + "/" + u.ID.String() + "/" + nonce
		if ok, wait := t.Device.AllowN(a.device, a.now, 1); !ok {
			return nil, wait
		}
		return a, 0
	}
	a.spent = []ratelimit.Budget{{Limiter: t.IP, Key: tenant + "/" + x.Client.IP},
		{Limiter: t.Account, Key: tenant + "/" + accountKey(u, typed)}, {Limiter: t.Global, Key: tenant}}
	if ok, wait := ratelimit.AllowAll(a.now, a.spent...); !ok {
		return nil, wait
	}
	return a, 0
}

// Succeeded gives back what the attempt spent and remembers the browser as
// known to u, for DeviceAge from now.
func (a *Attempt) Succeeded(x *Execution, u *store.User) {
	if a == nil || a.t == nil {
		return
	}
	for _, b := range a.spent {
		b.Limiter.Return(b.Key, a.now)
	}
	if a.device != "" {
		a.t.Device.Reset(a.device)
	}
	a.t.remember(x, u)
}

// accountKey names the account an attempt is against: its ID when the
// identifier matched one; else the identifier trimmed and lower-cased, as
// the lookup matches it.
func accountKey(u *store.User, typed string) string {
	if u != nil {
		return "id:" + u.ID.String()
	}
	return "name:" + strings.ToLower(strings.TrimSpace(typed))
}

// deviceAAD binds a device cookie entry to its tenant and account: an
// entry copied to another account or tenant does not open.
func deviceAAD(x *Execution, u *store.User) secretbox.AAD {
	return secretbox.AAD{Tenant: x.Scope.TenantID().String(), Table: "cookie", Column: DeviceCookie, Row: u.ID.String()}
}

// knownDevice returns the nonce of the client's device cookie entry for
// u that has not expired, or "".
func (t *LoginThrottle) knownDevice(x *Execution, u *store.User) string {
	v, ok := x.Client.Cookies[DeviceCookie]
	if t.Box == nil || u == nil || !ok {
		return ""
	}
	for _, entry := range deviceEntries(v) {
		if nonce, expires, ok := t.open(x, u, entry); ok && expires >= x.Env.Now().Unix() {
			return nonce
		}
	}
	return ""
}

// open reads one cookie entry: 16 random bytes, then the expiry in Unix
// seconds, sealed for u. ok is false when the entry is not u's.
func (t *LoginThrottle) open(x *Execution, u *store.User, entry string) (nonce string, expires int64, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(entry)
	if err != nil {
		return "", 0, false
	}
	p, err := t.Box.Open(raw, deviceAAD(x, u))
	if err != nil || len(p) != 24 {
		return "", 0, false
	}
	return hex.EncodeToString(p[:16]), int64(binary.BigEndian.Uint64(p[16:])), true
}

// remember sets the device cookie with a fresh entry for u first, then the
// entries for other accounts, which it cannot read and keeps as they are.
// A front end without cookies drops it (Result.Cookies).
func (t *LoginThrottle) remember(x *Execution, u *store.User) {
	if t.Box == nil || u == nil {
		return
	}
	p := make([]byte, 24)
	rand.Read(p[:16])
	binary.BigEndian.PutUint64(p[16:], uint64(x.Env.Now().Add(t.DeviceAge).Unix()))
	entries := []string{base64.RawURLEncoding.EncodeToString(t.Box.Seal(p, deviceAAD(x, u)))}
	if v, ok := x.Client.Cookies[DeviceCookie]; ok {
		for _, e := range deviceEntries(v) {
			if _, _, mine := t.open(x, u, e); !mine && len(entries) < maxKnownAccounts {
				entries = append(entries, e)
			}
		}
	}
	x.SetCookie(session.Cookie{Name: DeviceCookie, Value: strings.Join(entries, "."), Path: "/",
		MaxAge: int(t.DeviceAge.Seconds()), HTTPOnly: true, Secure: x.Client.Secure, SameSite: session.SameSiteStrict})
}

// deviceEntries splits a cookie value, ignoring what no cookie we set
// could hold.
func deviceEntries(v string) []string {
	if len(v) > 1024 {
		return nil
	}
	entries := strings.Split(v, ".")
	if len(entries) > maxKnownAccounts {
		entries = entries[:maxKnownAccounts]
	}
	return entries
}
