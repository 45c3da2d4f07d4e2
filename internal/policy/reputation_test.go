package policy

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

// TestReputationCountsEachRowOnce: the policy sums the rows recorded for
// the username or for the client IP, each row once, as Authentik's
// Q(ip) | Q(identifier) does. A row recorded for this username from this
// IP used to be counted once for the username and once more for the IP,
// so a single failed login looked like two.
func TestReputationCountsEachRowOnce(t *testing.T) {
	ctx := context.Background()
	_, sc := sqlitetest.Default(t)
	exp := time.Now().Add(time.Hour)
	adjust := func(ident, ip string, delta int) {
		t.Helper()
		if err := sc.Reputation().Adjust(ctx, ident, ip, delta, -5, 5, exp); err != nil {
			t.Fatal(err)
		}
	}
	score := func(cfg string, ident, ip string) (passing bool) {
		t.Helper()
		ev, err := compileReputation(json.RawMessage(cfg))
		if err != nil {
			t.Fatal(err)
		}
		res, err := ev.Evaluate(ctx, &Request{Scope: sc, Context: map[string]any{"pending_user_identifier": ident},
			HTTP: &HTTPRequest{ClientIP: ip}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Passing
	}
	// Bisect the score the policy sees with its threshold.
	seen := func(checks, ident, ip string) int {
		t.Helper()
		for th := -10; th <= 10; th++ {
			if score(`{`+checks+`"threshold": `+itoa(th)+`}`, ident, ip) {
				return th
			}
		}
		t.Fatalf("no threshold between -10 and 10 passes")
		return 0
	}

	adjust("alice", "192.0.2.1", -1) // one failed login
	if got := seen(``, "alice", "192.0.2.1"); got != -1 {
		t.Fatalf("one failed login, both checks: want score -1, got %d", got)
	}
	if score(`{"threshold": -2}`, "alice", "192.0.2.1") {
		t.Errorf("one failed login must not reach threshold -2")
	}

	adjust("alice", "192.0.2.2", -1) // alice from elsewhere
	adjust("bob", "192.0.2.1", -1)   // someone else from this IP
	adjust("carol", "192.0.2.9", -1) // unrelated
	for _, c := range []struct {
		checks string
		want   int
	}{
		{``, -3}, // alice@.1, alice@.2, bob@.1
		{`"check_ip": false, `, -2},
		{`"check_username": false, `, -2},
		{`"check_ip": false, "check_username": false, `, 0},
	} {
		if got := seen(c.checks, "alice", "192.0.2.1"); got != c.want {
			t.Errorf("{%s}: want score %d, got %d", c.checks, c.want, got)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
