package app

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestExpressionPolicyWorkIsBounded: an anonymous visitor opens a flow
// guarded by an expression policy that makes one builtin work for minutes.
// The flow must answer (denied: the policy fails) within its binding's
// timeout, and the server must not go on burning CPU for that request
// after answering.
func TestExpressionPolicyWorkIsBounded(t *testing.T) {
	e := newEnv(t)
	for i, expr := range []string{
		// Hashing a tuple shared twice at each of 30 levels: 2^30 steps.
		"t = (1,)\n        for i in range(30):\n            t = (t, t)\n        return {t: 1}",
		// Go's ReplaceAllString rescans the rest of the input for every match.
		`return regex_replace("y" * 60000, ".*x|y", "z")`,
		// A billion comparisons in one ==.
		"a = [0] * 1000\n        b = [a] * 1000\n        return [b] * 1000 == [b] * 1000",
	} {
		t.Run(strings.SplitN(expr, "\n", 2)[0], func(t *testing.T) {
			slug := fmt.Sprintf("bounded-%d", i)
			e.guardedFlow(slug, expr, "{timeout: 1}")
			start := time.Now()
			if ch := e.client().get(slug, nil); ch.component() != "ak-stage-access-denied" {
				t.Fatalf("want access denied (the policy fails), got %v", ch)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("the flow answered after %v; the binding's timeout is 1s", d)
			}
			// From shortly after the answer: no CPU for the request
			// any more, and no expression left running.
			time.Sleep(200 * time.Millisecond)
			before := cpuTime()
			time.Sleep(2 * time.Second)
			if used := cpuTime() - before; used > 400*time.Millisecond {
				t.Errorf("the server used %v of CPU in the 2s after answering, want next to nothing", used)
			}
			if n := metric(e.scrape(), "gatehouse_expressions_running"); n != 0 {
				t.Errorf("gatehouse_expressions_running = %v after the flow answered, want 0", n)
			}
		})
	}
}

// TestExpressionPolicyTimeLimit: an expression stops at its own 2-second
// limit, although its binding allows the policy Authentik's 30 seconds.
func TestExpressionPolicyTimeLimit(t *testing.T) {
	e := newEnv(t)
	// Each find scans a megabyte without a step: time, not steps, runs out.
	e.guardedFlow("slow", "s = 'a' * 1000000\n        while True:\n            s.find('b')", "{}")
	start := time.Now()
	if ch := e.client().get("slow", nil); ch.component() != "ak-stage-access-denied" {
		t.Fatalf("want access denied (the policy fails), got %v", ch)
	}
	if d := time.Since(start); d < 2*time.Second || d > 5*time.Second {
		t.Errorf("the flow answered after %v, want about 2s", d)
	}
	var msgs []any
	for _, ev := range e.events("policy_exception") {
		msgs = append(msgs, ev.Context["message"])
	}
	if len(msgs) != 1 || !strings.Contains(fmt.Sprint(msgs[0]), "time limit exceeded (2s)") {
		t.Errorf("policy_exception messages %q, want one saying time limit exceeded (2s)", msgs)
	}
}

// guardedFlow makes a flow with a dummy stage, guarded by an expression
// policy (expr indented for the blueprint's block) bound with attrs.
func (e *testEnv) guardedFlow(slug, expr, attrs string) {
	e.t.Helper()
	e.applyYAML(fmt.Sprintf(`version: 1
metadata: {name: %[1]s}
entries:
  - model: authentik_policies_expression.expressionpolicy
    id: policy
    identifiers: {name: %[1]s}
    attrs:
      expression: |
        %[2]s
  - model: authentik_flows.flow
    id: flow
    identifiers: {slug: %[1]s}
    attrs: {name: Guarded, designation: stage_configuration}
  - model: authentik_stages_dummy.dummystage
    id: dummy
    identifiers: {name: %[1]s}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf dummy, order: 0}
  - model: authentik_policies.policybinding
    identifiers: {target: !KeyOf flow, policy: !KeyOf policy, order: 0}
    attrs: %[3]s
`, slug, expr, attrs))
}
