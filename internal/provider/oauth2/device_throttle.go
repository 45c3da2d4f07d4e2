package oauth2

import (
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// deviceLimits are the device grant's throttles, made on first use so every
// Service (every test server) has its own.
//
// The client IP comes from X-Forwarded-For when a trusted proxy sends it,
// and a client inside the trusted ranges can rotate it at will. So each
// per-IP budget has a second one keyed on something the client cannot
// rotate: the OAuth client for starts, the logged-in user or else the
// whole tenant for code lookups.
type deviceLimits struct {
	once sync.Once
	// starts is Authentik's throttle of the device endpoint: 20 an hour
	// per IP. Public clients need no secret to start, and each start is a
	// row.
	starts *ratelimit.Limiter
	// clientStarts bounds the rows one client's starts can add, whatever
	// their IPs: 600 an hour, 60 at once.
	clientStarts *ratelimit.Limiter
	// guesses bounds the codes one IP may try on /device. A login costs
	// three lookups (enter, come back from logging in, allow); at four a
	// minute after the burst, a guesser facing a thousand live codes among
	// 20^8 needs years per IP to expect a hit.
	guesses *ratelimit.Limiter
	// userGuesses is the same budget per logged-in user.
	userGuesses *ratelimit.Limiter
	// visitorGuesses is shared by everyone not logged in, per tenant: 30 a
	// minute, 60 at once. When it is spent a visitor is asked to log in
	// before the code is looked up, and then spends their own budget: the
	// shared one can be used up by a guesser, but that only adds a step.
	visitorGuesses *ratelimit.Limiter
}

func (s *Service) deviceLimits() *deviceLimits {
	l := &s.device
	l.once.Do(func() {
		l.starts = ratelimit.New(20.0/3600, 20, 100_000)
		l.clientStarts = ratelimit.New(600.0/3600, 60, 10_000)
		l.guesses = ratelimit.New(4.0/60, 20, 100_000)
		l.userGuesses = ratelimit.New(4.0/60, 20, 100_000)
		l.visitorGuesses = ratelimit.New(30.0/60, 60, 1_000)
	})
	return l
}

// allowStart spends a device authorization's budgets: the IP's, then the
// authenticated client's.
func (l *deviceLimits) allowStart(r *http.Request, sc store.Scope, clientID string) (bool, time.Duration) {
	return ratelimit.AllowAll(time.Now(), ratelimit.Budget{Limiter: l.starts, Key: ipKey(r, sc)},
		ratelimit.Budget{Limiter: l.clientStarts, Key: sc.TenantID().String() + "|" + clientID})
}

func ipKey(r *http.Request, sc store.Scope) string {
	return sc.TenantID().String() + "|" + httpx.From(r.Context()).ClientIP
}

// allowLookup spends the budgets of one code lookup, or answers the
// request itself and returns false: the form with "too many codes" when
// the IP's or the user's budget is spent, a login first when the
// visitors' shared budget is. The limit covers right codes too, or it
// would tell a guesser which one was right.
func (p *devicePageRequest) allowLookup(typed string) bool {
	l := p.s.deviceLimits()
	lane := ratelimit.Budget{Limiter: l.visitorGuesses, Key: p.sc.TenantID().String()}
	if p.user != nil {
		lane = ratelimit.Budget{Limiter: l.userGuesses, Key: p.sc.TenantID().String() + "|" + p.user.ID.String()}
	}
	ip := ratelimit.Budget{Limiter: l.guesses, Key: ipKey(p.r, p.sc)}
	now := time.Now()
	if ip.Limiter.Wait(ip.Key, now) > 0 || p.user != nil && lane.Limiter.Wait(lane.Key, now) > 0 {
		p.form(http.StatusTooManyRequests, typed, i18n.DeviceTooManyAttempts,
			"Too many codes tried, please wait a minute and try again.")
		return false
	}
	if ok, _ := ratelimit.AllowAll(now, ip, lane); ok {
		return true
	}
	code, ok := normalizeUserCode(typed)
	if !ok {
		p.form(http.StatusBadRequest, typed, i18n.DeviceCodeInvalid, msgCodeInvalid)
		return false
	}
	if err := p.s.Sessions.Save(p.r.Context(), p.w, p.r, p.sess); err != nil {
		p.s.serverError(p.w, p.r, err)
		return false
	}
	next := url.Values{"next": {devicePath + "?code=" + showUserCode(code)}}
	http.Redirect(p.w, p.r, "/flows/-/default/authentication/?"+next.Encode(), http.StatusFound)
	return false
}
