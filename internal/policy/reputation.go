package policy

import (
	"context"
	"encoding/json"
	"time"
)

// reputationPolicy follows Authentik's semantics exactly: it *passes* when
// the score is at or below the threshold, i.e. it detects bad reputation
// (bind it to a deny or captcha stage, or negate it).
type reputationPolicy struct {
	CheckIP       bool `json:"check_ip"`
	CheckUsername bool `json:"check_username"`
	Threshold     int  `json:"threshold"`
}

func compileReputation(c json.RawMessage) (Evaluator, error) {
	p := reputationPolicy{CheckIP: true, CheckUsername: true, Threshold: -5}
	if err := decode(c, &p); err != nil {
		return nil, err
	}
	return p, nil
}

// Evaluate sums the scores of the rows recorded for the user's username
// (check_username) or for the client IP (check_ip), each row once, as
// Authentik's Q(ip=...) | Q(identifier=...) does: one failed login from
// this IP lowers the score the policy sees by one, not by two.
func (p reputationPolicy) Evaluate(ctx context.Context, req *Request) (Result, error) {
	ident, ip := "", ""
	if req.User != nil {
		ident = req.User.Username
	} else if s, ok := req.Context["pending_user_identifier"].(string); ok {
		ident = s
	}
	if req.HTTP != nil {
		ip = req.HTTP.ClientIP
	}
	if !p.CheckUsername {
		ident = ""
	}
	if !p.CheckIP {
		ip = ""
	}
	score, err := req.Scope.Reputation().Score(ctx, ident, ip, time.Now())
	if err != nil {
		return Result{}, err
	}
	return Result{Passing: score <= p.Threshold}, nil
}
