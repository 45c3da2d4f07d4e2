package expression

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAuthentikExamples(t *testing.T) {
	denyBob := `if request.user.username == "bob":
    ak_message("Bob is not allowed")
    return False
return ak_is_group_member(request.user, name="admins")`
	mapping := `return {"groups": [g.name for g in request.user.ak_groups.all()], "nickname": request.user.username}`
	tests := []struct {
		name, src    string
		user         *User
		want         any
		wantMessages []string
	}{
		{"deny bob", denyBob, bob, false, []string{"Bob is not allowed"}},
		{"allow admin", denyBob, alice, true, nil},
		{"anonymous is no member", denyBob, nil, false, nil},
		{"scope mapping", mapping, alice, map[string]any{"groups": []any{"admins", "eng"}, "nickname": "alice"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mustRun(t, tt.src, Input{User: tt.user, Helpers: directory()})
			if !reflect.DeepEqual(out.Value, tt.want) || !reflect.DeepEqual(out.Messages, tt.wantMessages) {
				t.Errorf("got %#v, messages %q; want %#v, %q", out.Value, out.Messages, tt.want, tt.wantMessages)
			}
		})
	}
}

func TestNamesInScope(t *testing.T) {
	h := directory()
	in := Input{
		User: alice,
		HTTP: &HTTPRequest{Method: "POST", Path: "/if/flow/login/", Host: "id.example.com", ClientIP: "192.0.2.7",
			UserAgent: "curl/8", Headers: map[string]string{"X-Forwarded-Proto": "https"}, Query: map[string]string{"next": "/app"}},
		Context: map[string]any{"prompt_data": map[string]any{"email": "new@example.com"}, "is_sso": true,
			"pending_user": bob, "count": float64(2), "ratio": 0.5},
		Extra:   map[string]any{"scope": []string{"openid", "email"}},
		Helpers: h,
	}
	tests := []struct {
		src  string
		want any
	}{
		{`return request.user.username`, "alice"},
		{`return user.pk if user.pk == request.user.pk else None`, "u-alice"},
		{`return [user.name, user.email, user.uuid, user.type, user.is_active, user.is_superuser, user.is_authenticated]`,
			[]any{"Alice Liddell", "alice@example.com", "u-alice", "internal", true, false, true}},
		{`return user.attributes.get("department")`, "eng"},
		{`return user.attributes["level"] + 1`, int64(4)},
		{`return user.attributes.get("missing", "default")`, "default"},
		{`return user.attributes["nested"]["k"]`, true},
		{`return user.group_attributes()["tags"]`, []any{"a", "b"}},
		{`return user.ak_groups.filter(name="eng").exists()`, true},
		{`return user.ak_groups.filter(name="ops").exists()`, false},
		{`return user.ak_groups.filter(name__in=["ops", "admins"]).count()`, int64(1)},
		{`return user.ak_groups.all()[0].name`, "admins"},
		{`return user.ak_groups.values_list("name", flat=True)`, []any{"admins", "eng"}},
		{`return len(user.ak_groups.all())`, int64(2)},
		{`return request.obj is None and request.debug is False`, true},
		{`return context is request.context`, true},
		{`return request.context["prompt_data"]["email"]`, "new@example.com"},
		{`return context["pending_user"].username`, "bob"},
		{`return context["count"]`, int64(2)},
		{`return context["ratio"]`, 0.5},
		{`return [http_request.method, http_request.path, http_request.get_host(), request.http_request.client_ip]`,
			[]any{"POST", "/if/flow/login/", "id.example.com", "192.0.2.7"}},
		{`return http_request.headers.get("x-forwarded-proto")`, "https"},
		{`return "X-FORWARDED-PROTO" in http_request.headers`, true},
		{`return http_request.GET["next"]`, "/app"},
		{`return http_request.META["HTTP_X_FORWARDED_PROTO"]`, "https"},
		{`return ak_client_ip`, "192.0.2.7"},
		{`return ak_is_sso_flow`, true},
		{`return "email" in scope`, true},
		{`return ak_is_group_member(context["pending_user"], name="admins")`, false},
		{`return ak_user_by(username="bob").email`, "bob@example.org"},
		{`return ak_user_by(email="alice@example.com").username`, "alice"},
		{`return ak_user_by(pk="u-bob").username`, "bob"},
		{`return ak_user_by(username="nobody")`, nil},
		{`ak_logger.info("hello", user=user.username)
ak_logger.warning("x")
ak_logger.debug("y", 1, 2)
return True`, true},
		{`return regex_match(user.email, r"@example\.com$")`, true},
		{`return regex_match("abc", "^b")`, false},
		{`return regex_replace("alice@example.com", r"^(?P<local>[^@]+)@(.*)$", r"\g<local> at \2")`, "alice at example.com"},
		{`return regex_replace("price: 5", r"(\d+)", r"$\1.00")`, "price: $5.00"},
		{`return [list_flatten(["a", "b"]), list_flatten([]), list_flatten("c")]`, []any{"a", nil, "c"}},
		{`return slugify("  Héllo, Wörld -- Ça va? ")`, "hello-world-ca-va"},
		{`return isinstance(user.attributes["tags"], (list, tuple)) and isinstance(1, int) and not isinstance("x", int)`, true},
		{`return "%s is %d" % ("level", 3) + " / {}!".format(user.username)`, "level is 3 / alice!"},
		{`return ", ".join(sorted(["b", "a"]))`, "a, b"},
		{`return "x".replace("x", "yy")`, "yy"},
		{`return user.email is not None and user.email.endswith("@example.com")`, true},
		{`return str(user) + "/" + str(user.ak_groups.first())`, "alice/admins"},
		{`return user`, map[string]any{"pk": "u-alice", "username": "alice", "name": "Alice Liddell", "email": "alice@example.com",
			"type": "internal", "is_active": true, "is_superuser": false, "is_authenticated": true, "groups": []any{"admins", "eng"},
			"attributes": map[string]any{"department": "eng", "level": int64(3), "tags": []any{"a", "b"}, "nested": map[string]any{"k": true}}}},
		{`return {1: "one", True: "yes", None: "nothing", 1.5: "x"}`, map[string]any{"1": "one", "true": "yes", "null": "nothing", "1.5": "x"}},
		{`return (1, 2.5, b"x")`, []any{int64(1), 2.5, "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			out := mustRun(t, tt.src, in)
			if !reflect.DeepEqual(out.Value, tt.want) {
				t.Errorf("got %#v, want %#v", out.Value, tt.want)
			}
		})
	}
}

func TestAnonymousUser(t *testing.T) {
	out := mustRun(t, `return [request.user.is_authenticated, user.is_anonymous, user.username, user.pk, user.attributes, len(user.ak_groups.all()), http_request, ak_client_ip, ak_is_sso_flow]`, Input{})
	want := []any{false, true, "", nil, map[string]any{}, int64(0), nil, nil, false}
	if !reflect.DeepEqual(out.Value, want) {
		t.Errorf("got %#v, want %#v", out.Value, want)
	}
}

func TestMessagesAndEvents(t *testing.T) {
	h := directory()
	out := mustRun(t, `ak_message("first")
ak_message(42)
ak_create_event("login_denied", reason="vpn", score=3, user=request.user.username)
return None`, Input{User: alice, Helpers: h})
	if want := []string{"first", "42"}; !reflect.DeepEqual(out.Messages, want) {
		t.Errorf("messages = %q, want %q", out.Messages, want)
	}
	want := []fakeEvent{{"login_denied", map[string]any{"reason": "vpn", "score": int64(3), "user": "alice"}}}
	if !reflect.DeepEqual(h.events, want) {
		t.Errorf("events = %#v, want %#v", h.events, want)
	}
}

// refusingHelpers refuse every event, as the store does an over-long action.
type refusingHelpers struct{ *fakeHelpers }

var errEventRefused = errors.New("invalid: action: must be 1 to 100 characters")

func (refusingHelpers) CreateEvent(context.Context, string, map[string]any) error {
	return errEventRefused
}

// An event that cannot be recorded raises in the expression, with the
// recorder's reason, so the policy fails as an exception (policy_exception)
// instead of passing as if the event were stored; the error wraps the
// recorder's.
func TestCreateEventErrorRaises(t *testing.T) {
	out, err := runSrc(t, `ak_create_event("x" * 100)
return True`, Input{User: alice, Helpers: refusingHelpers{directory()}}, Limits{})
	wantErr(t, err, "ak_create_event: invalid: action: must be 1 to 100 characters")
	if !errors.Is(err, errEventRefused) {
		t.Errorf("error %v does not wrap the recorder's", err)
	}
	if out.Value != nil {
		t.Errorf("the expression went on after the failed event: %v", out.Value)
	}
}

func TestHelpersUnavailable(t *testing.T) {
	for _, src := range []string{`return ak_is_group_member(user, name="x")`, `return ak_user_by(username="x")`, `ak_create_event("x")`} {
		_, err := runSrc(t, src, Input{User: alice}, Limits{})
		wantErr(t, err, "is not available here")
	}
}

func TestPythonSpellings(t *testing.T) {
	tests := []struct {
		src  string
		want any
	}{
		{"x = None\nreturn x is None", true},
		{"x = 1\nreturn x is not None", true},
		{"return 'is not' + \" is \" + '''x is\nnot'''", "is not is x is\nnot"},
		{"# x is not y\nreturn 1", int64(1)},
		{"is_x = 1\nreturn is_x", int64(1)},
		{"l = [1]\nl += [2]\nm = l\nm += [3]\nreturn l", []any{int64(1), int64(2), int64(3)}},
		{"d = {'n': 1}\nd['n'] += 5\nd['n'] *= 2\nreturn d", map[string]any{"n": int64(12)}},
		{"calls = []\ndef k():\n    calls.append(1)\n    return 'n'\nd = {'n': 'a'}\nd[k()] += 'b'\nreturn [d['n'], len(calls)]", []any{"ab", int64(1)}},
		{"s = 'a'\ns *= 3\ns %= ()\nreturn s", "aaa"},
		{"def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)\nreturn fact(10)", int64(3628800)},
		{"n = 0\nwhile n < 10:\n    n += 1\nreturn n", int64(10)},
		{"return set([1, 1, 2])", []any{int64(1), int64(2)}},
		{"", nil},
		{"# only a comment", nil},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			if out := mustRun(t, tt.src, Input{}); !reflect.DeepEqual(out.Value, tt.want) {
				t.Errorf("got %#v, want %#v", out.Value, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src          string
		line, column int
		msg          string
	}{
		{"return 1 +", 1, 11, "syntax error: got end of file, want primary expression"},
		{"x = 1\ntry:\n    pass\nexcept:\n    pass", 2, 1, "Starlark has no exceptions"},
		{"import os", 1, 1, "imports are not supported"},
		{"class A:\n    pass", 1, 1, "classes are not supported"},
		{"return f\"hi {user.name}\"", 1, 8, "f-strings are not supported"},
		{"return 2 ** 8", 1, 12, "Starlark has no ** operator"},
		{"load(\"x.star\", \"y\")", 1, 1, "load statements are not allowed"},
		{"if True:\nreturn 1", 2, 7, "syntax error: got return, want indent"},
		{"return 1 < 2 < 3", 1, 15, "does not associate"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Compile("policy", tt.src)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile error = %v, want a *CompileError", err)
			}
			if ce.Line != tt.line || ce.Column != tt.column || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("got %d:%d %q, want %d:%d and a message containing %q", ce.Line, ce.Column, ce.Msg, tt.line, tt.column, tt.msg)
			}
		})
	}
	long := strings.Repeat("#", DefaultLimits.MaxSourceLen+1)
	if _, err := Compile("policy", long); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("Compile(65 KiB) error = %v, want too long", err)
	}
}

func TestRuntimeErrors(t *testing.T) {
	tests := []struct {
		src          string
		line, column int
		msg          string
	}{
		{"x = 1\nreturn foo", 2, 8, "name 'foo' is not defined"},
		{"return requets.user", 1, 8, "name 'requets' is not defined (did you mean request?)"},
		{"return open('/etc/passwd')", 1, 8, "name 'open' is not defined"},
		{"return request.context['prompt_data']['email']", 1, 38, `key "email" not in dict`},
		{"return context['missing']", 1, 15, `key "missing" not in dict`},
		{"x = None\nreturn x.email", 2, 9, "NoneType has no .email field or method"},
		{"\n\nfail('denied: %s' % user.username)", 3, 5, "fail: denied: "},
		{"return [].sort()", 1, 10, "list has no .sort field or method"},
		{"return user.ak_groups.filter(path='x')", 1, 29, "unsupported lookup path"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := runSrc(t, tt.src, Input{Context: map[string]any{"prompt_data": map[string]any{}}}, Limits{})
			var re *RuntimeError
			if !errors.As(err, &re) {
				t.Fatalf("Run error = %v, want a *RuntimeError", err)
			}
			if re.Line != tt.line || re.Column != tt.column || !strings.Contains(re.Msg, tt.msg) {
				t.Errorf("got %d:%d %q, want %d:%d and a message containing %q", re.Line, re.Column, re.Msg, tt.line, tt.column, tt.msg)
			}
		})
	}
}

func TestReturnedValues(t *testing.T) {
	tests := []struct{ src, msg string }{
		{"return len", "a builtin_function_or_method cannot be returned"},
		{"def f():\n    pass\nreturn {'claims': [f]}", `value["claims"][0]: a function cannot be returned`},
		{"return request", "a PolicyRequest cannot be returned"},
		{"l = []\nl.append(l)\nreturn l", "nested more than 100 levels"},
		{"return {(1, 2): 3}", "dict key of type tuple"},
		{"return 1 << 100", "does not fit in 64 bits"},
		{"return float('nan')", "cannot be represented in JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := runSrc(t, tt.src, Input{}, Limits{})
			wantErr(t, err, tt.msg)
		})
	}
}

func TestExtraOverridesAndConversionErrors(t *testing.T) {
	out := mustRun(t, `return [request, n]`, Input{Extra: map[string]any{"request": "mine", "n": map[string][]int{"a": {1}}}})
	if want := []any{"mine", map[string]any{"a": []any{int64(1)}}}; !reflect.DeepEqual(out.Value, want) {
		t.Errorf("got %#v, want %#v", out.Value, want)
	}
	_, err := runSrc(t, `return bad`, Input{Extra: map[string]any{"bad": struct{}{}}}, Limits{})
	wantErr(t, err, "bad: unsupported value of type struct {}")
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	_, err = runSrc(t, `return context`, Input{Context: cyclic}, Limits{})
	wantErr(t, err, "nested more than 100 levels")
}

func TestTruthy(t *testing.T) {
	for _, v := range []any{nil, false, int64(0), 0, 0.0, "", []any{}, map[string]any{}} {
		if Truthy(v) {
			t.Errorf("Truthy(%#v) = true, want false", v)
		}
	}
	for _, v := range []any{true, int64(-1), 0.1, "x", []any{nil}, map[string]any{"": nil}} {
		if !Truthy(v) {
			t.Errorf("Truthy(%#v) = false, want true", v)
		}
	}
}
