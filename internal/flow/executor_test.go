package flow_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/stage"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestUnknownFlowIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	res := e.visitor(client).get("no-such-flow")
	if res.Failure != flow.NotFound || component(res) != flow.ComponentAccessDenied || denial(res) != "Flow not found." {
		t.Fatalf("want not found with its message, got failure %d, %s %q", res.Failure, component(res), denial(res))
	}
}

// TestStageFailureIsAnInternalError: a stage that breaks ends the flow
// with an internal error that shows only the client's request ID, and the
// plan is dropped.
func TestStageFailureIsAnInternalError(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	e.flowOf("broken", store.DesignationAuthentication, e.stage("dummy", map[string]any{"throw_error": true}))
	v := e.visitor(client)
	res := v.get("broken")
	fe, ok := res.Challenge.(*flow.FlowErrorChallenge)
	if res.Failure != flow.InternalError || !ok || fe.RequestID != client.RequestID {
		t.Fatalf("want an internal error naming request %s, got failure %d, %#v", client.RequestID, res.Failure, res.Challenge)
	}
	if v.sess.Data.Plan != nil {
		t.Errorf("a failed flow leaves no plan")
	}
}

// TestFlowPolicies: a flow's policies decide whether it applies, and the
// flow's denied_action what a refused user sees.
func TestFlowPolicies(t *testing.T) {
	t.Parallel()
	closed := `ak_message("Closed for maintenance.")
return False`
	for _, tc := range []struct {
		name, policy, deniedAction, next string
		wantComponent, wantTo, wantMsg   string
	}{
		{name: "passing policy: the first stage", policy: "return True", wantComponent: flow.ComponentDummy},
		{name: "message_continue without next: the message", policy: closed, deniedAction: "message_continue",
			wantComponent: flow.ComponentAccessDenied, wantMsg: "Closed for maintenance."},
		{name: "message_continue with next: on to next", policy: closed, deniedAction: "message_continue", next: "/elsewhere",
			wantComponent: flow.ComponentRedirect, wantTo: "/elsewhere"},
		{name: "message: the message even with next", policy: closed, deniedAction: "message", next: "/elsewhere",
			wantComponent: flow.ComponentAccessDenied, wantMsg: "Closed for maintenance."},
		{name: "continue: on to /", policy: closed, deniedAction: "continue",
			wantComponent: flow.ComponentRedirect, wantTo: "/"},
		{name: "policy without message: the stock one", policy: "return False", deniedAction: "message",
			wantComponent: flow.ComponentAccessDenied, wantMsg: "You are not allowed to use this flow."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			f, _ := e.flowOf("gated", store.DesignationEnrollment, e.stage("dummy", nil))
			if tc.deniedAction != "" {
				if _, err := e.sc.Flows().Update(t.Context(), f.ID, func(f *store.Flow) error {
					f.DeniedAction = tc.deniedAction
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			e.bind(f.ID, e.expression(tc.policy))
			q := url.Values{}
			if tc.next != "" {
				q.Set("next", tc.next)
			}
			res := e.visitor(client).run(&flow.Request{Slug: "gated", Query: q})
			if component(res) != tc.wantComponent || redirectTo(res) != tc.wantTo || denial(res) != tc.wantMsg {
				t.Fatalf("want %s %q %q, got %s %q %q", tc.wantComponent, tc.wantTo, tc.wantMsg,
					component(res), redirectTo(res), denial(res))
			}
		})
	}
}

// TestPoliciesSeeTheClient: the policy engine's view of the request
// (request.http_request, ak_client_ip) is the client's description.
func TestPoliciesSeeTheClient(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	f, _ := e.flowOf("by-client", store.DesignationAuthentication, e.stage("dummy", nil))
	e.bind(f.ID, e.expression(`h = request.http_request
return (ak_client_ip == "192.0.2.10" and h.client_ip == "192.0.2.10" and h.user_agent == "flow-test"
    and h.host == "login.example" and h.method == "BIND" and h.path == "cn=alice"
    and h.headers["Accept-Language"] == "zh-CN")`))
	c := client
	c.Host, c.Method, c.Path, c.AcceptLanguage = "login.example", "BIND", "cn=alice", "zh-CN"
	if res := e.visitor(c).get("by-client"); component(res) != flow.ComponentDummy {
		t.Fatalf("the policy should see the described client, got %s %q", component(res), denial(res))
	}
	c.IP = "198.51.100.1"
	if res := e.visitor(c).get("by-client"); component(res) != flow.ComponentAccessDenied {
		t.Fatalf("another address: want denied, got %s", component(res))
	}
}

// TestEvaluateOnPlan: a stage binding's policies marked evaluate_on_plan
// decide when the flow is planned whether the stage is in the plan.
func TestEvaluateOnPlan(t *testing.T) {
	t.Parallel()
	for _, pass := range []bool{true, false} {
		e := newEngine(t)
		_, binds := e.flowOf("planned", store.DesignationAuthentication,
			e.stage("dummy", nil), e.stage("prompt", map[string]any{"fields": []string{}}))
		setBinding(t, e, binds[1], func(b *store.FlowStageBinding) { b.EvaluateOnPlan = true })
		body := "return False"
		if pass {
			body = "return True"
		}
		e.bind(binds[1].ID, e.expression(body))
		v := e.visitor(client)
		v.get("planned")
		res := v.post("planned", flow.Response{})
		if pass && component(res) != flow.ComponentPrompt {
			t.Errorf("a passing policy: want the second stage, got %s", component(res))
		}
		if !pass && redirectTo(res) != "/" {
			t.Errorf("a failing policy: want the second stage left out and the flow done, got %s", component(res))
		}
	}
}

// TestReEvaluation: a binding with re_evaluate_policies is judged just
// before its stage, on what earlier stages learned.
func TestReEvaluation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typed string
		want  string
	}{
		{"alice", flow.ComponentDummy},
		{"skip-me", flow.ComponentRedirect},
	} {
		e := newEngine(t)
		_, binds := e.flowOf("judged", store.DesignationAuthentication,
			e.stage("identification", map[string]any{"user_fields": []string{"username"}}), e.stage("dummy", nil))
		setBinding(t, e, binds[1], func(b *store.FlowStageBinding) { b.ReEvaluatePolicies = true })
		e.bind(binds[1].ID, e.expression(`return request.context.get("pending_user_identifier") != "skip-me"`))
		v := e.visitor(client)
		if r := v.get("judged"); component(r) != flow.ComponentIdentification {
			t.Fatalf("first: want identification, got %s", component(r))
		}
		if r := v.post("judged", flow.Response{"uid_field": tc.typed}); component(r) != tc.want {
			t.Errorf("after %q: want %s, got %s", tc.typed, tc.want, component(r))
		}
	}
}

// TestInvalidResponseAction: after an invalid answer the binding's
// invalid_response_action shows the stage again (retry), or plans the
// flow anew from its first stage, forgetting (restart) or keeping
// (restart_with_context) what was learned.
func TestInvalidResponseAction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		action, wantComponent, wantUID string
	}{
		{"retry", flow.ComponentPassword, ""},
		{"restart", flow.ComponentIdentification, ""},
		{"restart_with_context", flow.ComponentIdentification, "alice"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			e.user("alice", alicePassword)
			_, binds := e.flowOf("strict", store.DesignationAuthentication,
				e.stage("identification", map[string]any{"user_fields": []string{"username"}}), e.stage("password", nil))
			setBinding(t, e, binds[1], func(b *store.FlowStageBinding) { b.InvalidResponseAction = tc.action })
			v := e.visitor(client)
			v.get("strict")
			v.post("strict", flow.Response{"uid_field": "alice"})
			res := v.post("strict", flow.Response{"password": "wrong"})
			if component(res) != tc.wantComponent {
				t.Fatalf("want %s, got %s", tc.wantComponent, component(res))
			}
			if id, ok := res.Challenge.(*flow.IdentificationChallenge); ok && id.UID != tc.wantUID {
				t.Errorf("the identifier shown: want %q, got %q", tc.wantUID, id.UID)
			}
		})
	}
}

// answerDenial stands for a stage that owes someone an answer when the
// flow is denied before it runs (the OAuth fulfillment).
type answerDenial struct{}

func (answerDenial) Challenge(context.Context, *flow.Execution) flow.Outcome { return flow.Next() }

func (answerDenial) Respond(context.Context, *flow.Execution, flow.Response) flow.Outcome {
	return flow.Next()
}

func (answerDenial) Denied(_ context.Context, _ *flow.Execution, code, _ string) (flow.Outcome, bool) {
	return flow.RedirectTo("/client?error=" + code), true
}

// TestDenial: a deny stage ends the flow with its message; a stage planned
// after it that answers denials (flow.DenialHandler) answers instead.
func TestDenial(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	e.flowOf("refusing", store.DesignationAuthorization, e.stage("deny", map[string]any{"deny_message": "Not you."}))
	v := e.visitor(client)
	if res := v.get("refusing"); denial(res) != "Not you." || res.Failure != flow.NoFailure {
		t.Fatalf("a deny stage: want its message, not a failure, got %s %q (failure %d)", component(res), denial(res), res.Failure)
	}
	if v.sess.Data.Plan != nil {
		t.Errorf("a denied flow leaves no plan")
	}

	kinds := stage.Kinds()
	maps.Copy(kinds, map[string]flow.Factory{"test_answer": func(json.RawMessage) (flow.Stage, error) {
		return answerDenial{}, nil
	}})
	exec := flow.NewExecutor(e.env, kinds)
	res := exec.Run(t.Context(), &flow.Request{Slug: "refusing", Client: client, Scope: e.sc, Session: v.sess,
		Extra: []flow.Binding{{Kind: "test_answer"}}})
	if to := redirectTo(res); !strings.HasPrefix(to, "/client?error=") {
		t.Fatalf("a later stage that answers denials: want its redirect, got %s %q", component(res), denial(res))
	}
}

// TestRequireAuthenticated: a flow for logged-in users sends a visitor to
// log in, and back to the flow afterwards.
func TestRequireAuthenticated(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	f, _ := e.flowOf("members", store.DesignationStageConfiguration, e.stage("dummy", nil))
	if _, err := e.sc.Flows().Update(t.Context(), f.ID, func(f *store.Flow) error {
		f.Authentication = "require_authenticated"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v := e.visitor(client)
	want := flow.FlowURL(flow.DefaultAuthenticationFlow) + "?next=" + url.QueryEscape(flow.FlowURL("members"))
	if to := redirectTo(v.get("members")); to != want {
		t.Fatalf("a visitor: want %q, got %q", want, to)
	}
	v.user = e.user("alice", alicePassword)
	if res := v.get("members"); component(res) != flow.ComponentDummy {
		t.Fatalf("a logged-in user: want the flow, got %s", component(res))
	}
}

func setBinding(t *testing.T, e *engine, b *store.FlowStageBinding, edit func(*store.FlowStageBinding)) {
	t.Helper()
	if _, err := e.sc.FlowStageBindings().Update(t.Context(), b.ID, func(b *store.FlowStageBinding) error {
		edit(b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.exec.Invalidate(b.FlowID)
}
