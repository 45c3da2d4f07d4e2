package expression

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// fakeHelpers is an in-memory directory and event log.
type fakeHelpers struct {
	users  []*User
	mu     sync.Mutex
	events []fakeEvent
}

type fakeEvent struct {
	action string
	data   map[string]any
}

func (h *fakeHelpers) IsGroupMember(_ context.Context, userID, group string) (bool, error) {
	for _, u := range h.users {
		if u.ID == userID {
			for _, g := range u.GroupNames {
				if g == group {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

func (h *fakeHelpers) UserBy(_ context.Context, field, value string) (*User, error) {
	for _, u := range h.users {
		if field == "username" && u.Username == value || field == "email" && u.Email == value || field == "id" && u.ID == value {
			return u, nil
		}
	}
	return nil, nil
}

func (h *fakeHelpers) CreateEvent(_ context.Context, action string, data map[string]any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, fakeEvent{action, data})
	return nil
}

// blockingHelpers wait for the run's deadline, as a slow directory would.
type blockingHelpers struct{ *fakeHelpers }

func (blockingHelpers) IsGroupMember(ctx context.Context, _, _ string) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

// panickingHelpers panic in every helper.
type panickingHelpers struct{}

func (panickingHelpers) IsGroupMember(context.Context, string, string) (bool, error) {
	panic("directory exploded")
}
func (panickingHelpers) UserBy(context.Context, string, string) (*User, error) {
	var m map[string]*User
	m["x"].Name = "y" // nil map and nil pointer: a runtime panic
	return nil, nil
}
func (panickingHelpers) CreateEvent(context.Context, string, map[string]any) error {
	var s []int
	_ = s[3]
	return nil
}

var (
	alice = &User{ID: "u-alice", Username: "alice", Name: "Alice Liddell", Email: "alice@example.com",
		Type: "internal", IsActive: true, Attributes: map[string]any{"department": "eng", "level": float64(3),
			"tags": []any{"a", "b"}, "nested": map[string]any{"k": true}}, GroupNames: []string{"admins", "eng"}}
	bob = &User{ID: "u-bob", Username: "bob", Email: "bob@example.org", IsActive: true, GroupNames: []string{"eng"}}
)

func directory() *fakeHelpers { return &fakeHelpers{users: []*User{alice, bob}} }

// run compiles and runs src, failing the test on a compile error.
func runSrc(t testing.TB, src string, in Input, lim Limits) (Output, error) {
	t.Helper()
	p, err := Compile("test", src)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	return p.Run(t.Context(), in, lim)
}

// mustRun also fails the test on a runtime error.
func mustRun(t testing.TB, src string, in Input) Output {
	t.Helper()
	out, err := runSrc(t, src, in, Limits{})
	if err != nil {
		t.Fatalf("Run(%q): %v", src, err)
	}
	return out
}

func wantErr(t testing.TB, err error, contains string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), contains) {
		t.Fatalf("error = %v, want one containing %q", err, contains)
	}
}
