package oauth2

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/policy/expression"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// MappingKind is the store kind of scope mappings (property mappings).
const MappingKind = "scope"

// Managed IDs of the built-in scope mappings, Authentik's.
const (
	ManagedOpenID  = "goauthentik.io/providers/oauth2/scope-openid"
	ManagedEmail   = "goauthentik.io/providers/oauth2/scope-email"
	ManagedProfile = "goauthentik.io/providers/oauth2/scope-profile"
	ManagedOffline = "goauthentik.io/providers/oauth2/scope-offline_access"
)

// mapping is a scope mapping: when its scope is granted, its expression's
// dict is merged into the claims. The managed ones run as Go, not
// Starlark: every token carries them, and they are the hot path.
type mapping struct {
	ScopeName   string `json:"scope_name"`
	Description string `json:"description"`
	Expression  string `json:"expression"`
	Managed     string `json:"managed"`
	name        string
	prog        *expression.Program
}

// ParseMapping validates a scope mapping's settings (admin API, blueprints).
func ParseMapping(name string, raw json.RawMessage) (*mapping, error) {
	m := &mapping{name: name}
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, store.Invalid("config", "is not a scope mapping")
	}
	v := &store.ValidationError{}
	if m.ScopeName == "" || len(m.ScopeName) > 255 || containsSpace(m.ScopeName) {
		v.Add("scope_name", "must be 1 to 255 characters without spaces")
	}
	if builtin(m.Managed) == nil {
		prog, err := expression.Compile(name, m.Expression)
		if err != nil {
			v.Add("expression", "%v", err)
		}
		m.prog = prog
	}
	return m, v.Err()
}

func containsSpace(s string) bool {
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return true
		}
	}
	return false
}

func loadMappings(ctx context.Context, sc store.Scope, ids []string) ([]*mapping, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	uids := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		uids = append(uids, uuid.MustParse(id))
	}
	objs, err := sc.PropertyMappings().GetMany(ctx, uids)
	if err != nil {
		return nil, err
	}
	out := make([]*mapping, 0, len(objs))
	for _, o := range objs {
		m, err := ParseMapping(o.Name, o.Config)
		if err != nil {
			return nil, fmt.Errorf("scope mapping %q: %w", o.Name, err)
		}
		out = append(out, m)
	}
	// Authentik evaluates mappings ordered by scope name.
	sort.SliceStable(out, func(i, j int) bool { return out[i].ScopeName < out[j].ScopeName })
	return out, nil
}

// supportedScopes are the scopes a client may ask for.
func (c *client) supportedScopes() []string {
	out := []string{"openid"}
	for _, m := range c.mappings {
		if !slices.Contains(out, m.ScopeName) {
			out = append(out, m.ScopeName)
		}
	}
	return out
}

// grantable intersects requested scopes with the supported ones (unknown
// scopes are dropped silently, as Authentik does); none requested means all.
func (c *client) grantable(requested []string) []string {
	sup := c.supportedScopes()
	if len(requested) == 0 {
		return sup
	}
	var out []string
	for _, s := range requested {
		if slices.Contains(sup, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// permissions are what the consent page lists for scopes: those whose
// mapping has a description, with it.
func (c *client) permissions(scopes []string) []flow.ConsentPermission {
	var out []flow.ConsentPermission
	for _, sc := range scopes {
		for _, m := range c.mappings {
			if m.ScopeName == sc && m.Description != "" {
				out = append(out, flow.ConsentPermission{ID: sc, Name: m.Description})
				break
			}
		}
	}
	return out
}

type builtinFn func(ctx context.Context, sc store.Scope, u *store.User) (map[string]any, error)

func builtin(managed string) builtinFn {
	switch managed {
	case ManagedOpenID, ManagedOffline:
		return func(context.Context, store.Scope, *store.User) (map[string]any, error) { return nil, nil }
	case ManagedEmail:
		return func(_ context.Context, _ store.Scope, u *store.User) (map[string]any, error) {
			return map[string]any{"email": u.Email, "email_verified": u.EmailVerified}, nil
		}
	case ManagedProfile:
		return func(ctx context.Context, sc store.Scope, u *store.User) (map[string]any, error) {
			gs, err := sc.Groups().ForUser(ctx, u.ID, false)
			if err != nil {
				return nil, err
			}
			names := make([]string, 0, len(gs))
			for _, g := range gs {
				names = append(names, g.Name)
			}
			return map[string]any{"name": u.Name, "given_name": u.Name, "preferred_username": u.Username,
				"nickname": u.Username, "groups": names}, nil
		}
	}
	return nil
}

// claims evaluates the mappings of the granted scopes for u and merges
// their dicts. A failing custom mapping is skipped and reported (a
// property_mapping_exception event), not fatal: one bad mapping must not
// lock everyone out of an application.
func (s *Service) claims(ctx context.Context, sc store.Scope, c *client, u *store.User, scopes []string, report func(string, error)) (map[string]any, error) {
	out := map[string]any{}
	for _, m := range c.mappings {
		if !slices.Contains(scopes, m.ScopeName) {
			continue
		}
		var vals map[string]any
		if fn := builtin(m.Managed); fn != nil {
			var err error
			if vals, err = fn(ctx, sc, u); err != nil {
				return nil, err
			}
		} else {
			req := &policy.Request{Scope: sc, User: u, Context: map[string]any{"scope": scopes}}
			in, err := policy.ExpressionInput(s.Policies.WithRecorder(ctx), req)
			if err != nil {
				return nil, err
			}
			res, err := m.prog.Run(ctx, in, expression.DefaultLimits)
			if err != nil {
				report(m.name, err)
				continue
			}
			vals, _ = res.Value.(map[string]any)
		}
		for k, v := range vals {
			out[k] = v
		}
	}
	return out, nil
}
