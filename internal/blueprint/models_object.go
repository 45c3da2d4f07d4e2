package blueprint

import (
	"context"
	"encoding/json"
	"errors"
	"maps"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Stage and policy kinds by their Authentik model. Supporting another kind
// is one line here (and its implementation in internal/flow/stage or
// internal/policy).
var (
	stageKinds = map[string]string{
		"authentik_stages_identification.identificationstage": "identification",
		"authentik_stages_password.passwordstage":             "password",
		"authentik_stages_prompt.promptstage":                 "prompt",
		"authentik_stages_user_write.userwritestage":          "user_write",
		"authentik_stages_user_login.userloginstage":          "user_login",
		"authentik_stages_user_logout.userlogoutstage":        "user_logout",
		"authentik_stages_email.emailstage":                   "email",
		"authentik_stages_invitation.invitationstage":         "invitation",
		"authentik_stages_consent.consentstage":               "consent",
		"authentik_stages_deny.denystage":                     "deny",
		"authentik_stages_redirect.redirectstage":             "redirect",
		"authentik_stages_dummy.dummystage":                   "dummy",
	}
	policyKinds = map[string]string{
		"authentik_policies_expression.expressionpolicy":      "expression",
		"authentik_policies_password.passwordpolicy":          "password",
		"authentik_policies_reputation.reputationpolicy":      "reputation",
		"authentik_policies_expiry.passwordexpirypolicy":      "password_expiry",
		"authentik_policies_dummy.dummypolicy":                "dummy",
		"authentik_policies_event_matcher.eventmatcherpolicy": "event_matcher",
	}
)

func registerObjectModels(r *Registry) {
	for model, kind := range stageKinds {
		r.Register(model, objectModel{family: FamilyStage, kind: kind})
	}
	for model, kind := range policyKinds {
		r.Register(model, objectModel{family: FamilyPolicy, kind: kind})
	}
	r.Register("authentik_stages_prompt.prompt", objectModel{family: FamilyPrompt})
	r.Register("authentik_providers_oauth2.scopemapping", objectModel{family: FamilyMapping, kind: "scope"})
}

// objectModel maps a stage, policy or prompt model onto the store's
// generic objects: the name is the identifier, every other attribute goes
// into Config under Authentik's field name. Prompts take their kind from
// their type attribute; stages and policies have a fixed kind.
type objectModel struct {
	family string
	kind   string // "" for prompts
}

func (m objectModel) table(sc store.Scope) store.Objects {
	switch m.family {
	case FamilyStage:
		return sc.Stages()
	case FamilyPolicy:
		return sc.Policies()
	case FamilyMapping:
		return sc.PropertyMappings()
	}
	return sc.Prompts()
}

func (m objectModel) Find(ctx context.Context, tx *Tx, by Values) (uuid.UUID, bool, error) {
	var o *store.Object
	var ok bool
	var err error
	if _, has := by["pk"]; has {
		id, valid, perr := lookupID(by, "pk")
		if !valid {
			return uuid.Nil, false, perr
		}
		o, ok, err = found(m.table(tx.Scope).Get(ctx, id))
	} else if _, has := by["name"]; has {
		name, _, serr := by.String("name")
		if serr != nil || name == "" {
			return uuid.Nil, false, serr
		}
		o, ok, err = found(m.table(tx.Scope).GetByName(ctx, name))
	} else if _, has := by["managed"]; has && m.kind != "" {
		// Managed objects (Authentik's built-in scope mappings) are found
		// by their managed ID, which lives in the configuration.
		managed, _, serr := by.String("managed")
		if serr != nil || managed == "" {
			return uuid.Nil, false, serr
		}
		o, ok, err = m.findManaged(ctx, tx, managed)
	} else {
		return uuid.Nil, false, errors.New(m.family + "s are looked up by name or pk")
	}
	if !ok || err != nil {
		return uuid.Nil, false, err
	}
	// An Authentik model is one kind: an identification stage named x is
	// not found by a lookup for password stages.
	if m.kind != "" && o.Kind != m.kind {
		return uuid.Nil, false, nil
	}
	cfg, err := decodeJSON(o.Config)
	if err != nil {
		return uuid.Nil, false, err
	}
	have, _ := cfg.(map[string]any)
	if have == nil {
		have = map[string]any{}
	}
	have["pk"], have["name"] = o.ID, o.Name
	return o.ID, matchAll(by, have), nil
}

func (m objectModel) findManaged(ctx context.Context, tx *Tx, managed string) (*store.Object, bool, error) {
	for page := 1; ; page++ {
		list, total, err := m.table(tx.Scope).List(ctx, store.ObjectQuery{Kind: m.kind, Page: store.Page{Number: page, Size: store.MaxPageSize}})
		if err != nil {
			return nil, false, err
		}
		for _, o := range list {
			var c struct {
				Managed string `json:"managed"`
			}
			if json.Unmarshal(o.Config, &c) == nil && c.Managed == managed {
				return o, true, nil
			}
		}
		if page*store.MaxPageSize >= total {
			return nil, false, nil
		}
	}
}

// split separates the name and the kind from the attributes that form the
// configuration. Prompts accept prompt_type, which Authentik's example
// enrollment blueprint uses, as a spelling of type.
func (m objectModel) split(v Values) (name string, cfg map[string]any, kind string, err error) {
	name, _, err = v.String("name")
	if err != nil {
		return "", nil, "", err
	}
	cfg = maps.Clone(v)
	delete(cfg, "name")
	kind = m.kind
	if m.family == FamilyPrompt {
		if pt, ok := cfg["prompt_type"]; ok {
			if _, has := cfg["type"]; !has {
				cfg["type"] = pt
			}
			delete(cfg, "prompt_type")
		}
		if t, ok := cfg["type"]; ok {
			if kind, ok = t.(string); !ok {
				return "", nil, "", store.Invalid("type", "must be a string")
			}
		}
	}
	return name, cfg, kind, nil
}

func (m objectModel) encode(tx *Tx, kind string, cfg map[string]any) (json.RawMessage, error) {
	raw, err := canonicalJSON(cfg)
	if err != nil {
		return nil, store.Invalid("attrs", "cannot be stored as JSON: %v", err)
	}
	if err := tx.ValidateConfig(m.family, kind, raw); err != nil {
		return nil, err
	}
	return raw, nil
}

func (m objectModel) Create(ctx context.Context, tx *Tx, v Values) (uuid.UUID, error) {
	name, cfg, kind, err := m.split(v)
	if err != nil {
		return uuid.Nil, err
	}
	if kind == "" {
		return uuid.Nil, store.Invalid("type", "is required")
	}
	// The name is unique across kinds: say which object holds it rather
	// than report a bare conflict.
	if other, ok, err := found(m.table(tx.Scope).GetByName(ctx, name)); err != nil {
		return uuid.Nil, err
	} else if ok {
		return uuid.Nil, store.Invalid("name", "a %s named %q already exists with kind %s", m.family, name, other.Kind)
	}
	raw, err := m.encode(tx, kind, cfg)
	if err != nil {
		return uuid.Nil, err
	}
	o := &store.Object{Name: name, Kind: kind, Config: raw}
	err = m.table(tx.Scope).Create(ctx, o)
	return o.ID, err
}

func (m objectModel) Update(ctx context.Context, tx *Tx, id uuid.UUID, v Values) (bool, error) {
	cur, err := m.table(tx.Scope).Get(ctx, id)
	if err != nil {
		return false, err
	}
	name, attrs, kind, err := m.split(v)
	if err != nil {
		return false, err
	}
	if _, given := v["name"]; !given {
		name = cur.Name
	}
	if kind == "" {
		kind = cur.Kind
	}
	if m.kind != "" && cur.Kind != m.kind {
		return false, store.Invalid("name", "%q is a %s %s, not %s", cur.Name, cur.Kind, m.family, m.kind)
	}
	old, err := decodeJSON(cur.Config)
	if err != nil {
		return false, err
	}
	oldCfg, _ := old.(map[string]any)
	if oldCfg == nil {
		oldCfg = map[string]any{}
	}
	next := maps.Clone(oldCfg)
	maps.Copy(next, attrs)
	if name == cur.Name && kind == cur.Kind && sameJSON(oldCfg, next) {
		return false, nil
	}
	raw, err := m.encode(tx, kind, next)
	if err != nil {
		return false, err
	}
	_, err = m.table(tx.Scope).Update(ctx, id, func(o *store.Object) error {
		o.Name, o.Kind, o.Config = name, kind, raw
		return nil
	})
	return err == nil, err
}

func (m objectModel) Delete(ctx context.Context, tx *Tx, id uuid.UUID) error {
	return m.table(tx.Scope).Delete(ctx, id)
}
