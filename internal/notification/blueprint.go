package notification

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Blueprint model names, Authentik's.
const (
	RuleModel      = "authentik_events.notificationrule"
	TransportModel = "authentik_events.notificationtransport"
	MappingModel   = "authentik_events.notificationwebhookmapping"
)

// RegisterBlueprint adds the rule, transport and webhook mapping models to
// r; the composition root calls it.
func RegisterBlueprint(r *blueprint.Registry) {
	r.Register(RuleModel, ruleModel{})
	r.Register(TransportModel, transportModel{})
	r.Register(MappingModel, mappingModel{})
}

// fieldErrors merges the validation errors of an entry's fields, so it
// reports all its problems at once; any other error (the database) wins.
func fieldErrors(list ...error) error {
	all := &store.ValidationError{}
	for _, err := range list {
		var ve *store.ValidationError
		switch {
		case err == nil:
		case errors.As(err, &ve):
			all.Fields = append(all.Fields, ve.Fields...)
		default:
			return err
		}
	}
	return all.Err()
}

// find looks an object up by pk or name, then checks the other lookup
// fields against have.
func find[T any](by blueprint.Values, what string, get func(uuid.UUID) (T, error), byName func(string) (T, error),
	have func(T) map[string]any) (uuid.UUID, bool, error) {
	var obj T
	var err error
	switch {
	case by["pk"] != nil:
		id, _, uerr := by.UUID("pk")
		if uerr != nil {
			return uuid.Nil, false, nil // an Authentik export's numeric pk names nothing here
		}
		obj, err = get(id.UUID)
	case by["name"] != nil:
		name, _, serr := by.String("name")
		if serr != nil {
			return uuid.Nil, false, serr
		}
		obj, err = byName(name)
	default:
		return uuid.Nil, false, errors.New(what + " are looked up by name or pk")
	}
	if errors.Is(err, store.ErrNotFound) {
		return uuid.Nil, false, nil
	}
	if err != nil {
		return uuid.Nil, false, err
	}
	h := have(obj)
	return h["pk"].(uuid.UUID), by.Matches(h), nil
}

// ref reads an optional reference and checks it names an object.
func ref(v blueprint.Values, key, what string, exists func(uuid.UUID) (bool, error)) (uuid.NullUUID, error) {
	id, _, err := v.UUID(key)
	if err != nil || !id.Valid {
		return id, err
	}
	ok, err := exists(id.UUID)
	if err == nil && !ok {
		err = store.Invalid(key, "no %s with ID %s exists", what, id.UUID)
	}
	return id, err
}

func exists[T any](_ T, err error) (bool, error) {
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ruleModel is authentik_events.notificationrule. Policies bound to a
// rule (authentik_policies.policybinding with the rule as target) decide
// which events it matches.
type ruleModel struct{}

var ruleFields = []string{"name", "severity", "destination_group", "destination_event_user", "transports"}

func ruleValues(r *store.NotificationRule) map[string]any {
	group := any(nil)
	if r.GroupID.Valid {
		group = r.GroupID.UUID
	}
	transports := make([]any, len(r.TransportIDs))
	for i, id := range r.TransportIDs {
		transports[i] = id.String()
	}
	return map[string]any{"pk": r.ID, "name": r.Name, "severity": r.Severity, "destination_group": group,
		"destination_event_user": r.DestinationEventUser, "transports": transports}
}

func (ruleModel) Find(ctx context.Context, tx *blueprint.Tx, by blueprint.Values) (uuid.UUID, bool, error) {
	if err := by.Check(append([]string{"pk"}, ruleFields...)...); err != nil {
		return uuid.Nil, false, err
	}
	rules := tx.Scope.NotificationRules()
	return find(by, "notification rules", func(id uuid.UUID) (*store.NotificationRule, error) { return rules.Get(ctx, id) },
		func(name string) (*store.NotificationRule, error) { return rules.GetByName(ctx, name) }, ruleValues)
}

// applyRule lays v over r. Severity "info" is taken as "notice", the
// mildest level, for blueprints written with the more common word.
func applyRule(ctx context.Context, tx *blueprint.Tx, r *store.NotificationRule, v blueprint.Values) error {
	if err := v.Check(ruleFields...); err != nil {
		return err
	}
	var problems []error
	for key, dst := range map[string]*string{"name": &r.Name, "severity": &r.Severity} {
		if s, given, err := v.String(key); given {
			*dst = strings.TrimSpace(s)
			problems = append(problems, err)
		}
	}
	if r.Severity == "info" {
		r.Severity = store.SeverityNotice
	}
	if b, given, err := v.Bool("destination_event_user"); given {
		r.DestinationEventUser = b
		problems = append(problems, err)
	}
	if _, given := v["destination_group"]; given {
		var err error
		r.GroupID, err = ref(v, "destination_group", "group", func(id uuid.UUID) (bool, error) {
			return exists(tx.Scope.Groups().Get(ctx, id))
		})
		problems = append(problems, err)
	}
	if _, given := v["transports"]; given {
		var err error
		r.TransportIDs, err = transportRefs(ctx, tx, v)
		problems = append(problems, err)
	}
	return fieldErrors(append(problems, r.Validate())...)
}

// transportRefs reads transports: a list of transport IDs (!KeyOf, !Find).
func transportRefs(ctx context.Context, tx *blueprint.Tx, v blueprint.Values) ([]uuid.UUID, error) {
	const key = "transports"
	list, _, err := v.List(key)
	if err != nil {
		return nil, err
	}
	ids := []uuid.UUID{}
	for _, x := range list {
		id, _, err := blueprint.Values{key: x}.UUID(key)
		if err != nil || !id.Valid {
			return nil, store.Invalid(key, "must list transport IDs (use !KeyOf or !Find; a !Find that matched nothing gives null)")
		}
		if !slices.Contains(ids, id.UUID) {
			ids = append(ids, id.UUID)
		}
	}
	have, err := tx.Scope.NotificationTransports().GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !slices.ContainsFunc(have, func(t *store.NotificationTransport) bool { return t.ID == id }) {
			return nil, store.Invalid(key, "no notification transport with ID %s exists", id)
		}
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return ids, nil
}

func (ruleModel) Create(ctx context.Context, tx *blueprint.Tx, v blueprint.Values) (uuid.UUID, error) {
	r := &store.NotificationRule{Severity: store.SeverityNotice}
	if err := applyRule(ctx, tx, r, v); err != nil {
		return uuid.Nil, err
	}
	if err := tx.Scope.NotificationRules().Create(ctx, r); err != nil {
		return uuid.Nil, err
	}
	RulesChanged()
	return r.ID, nil
}

func (ruleModel) Update(ctx context.Context, tx *blueprint.Tx, id uuid.UUID, v blueprint.Values) (bool, error) {
	cur, err := tx.Scope.NotificationRules().Get(ctx, id)
	if err != nil {
		return false, err
	}
	next := *cur
	next.TransportIDs = slices.Clone(cur.TransportIDs)
	if err := applyRule(ctx, tx, &next, v); err != nil {
		return false, err
	}
	if sameJSON(ruleValues(cur), ruleValues(&next)) {
		return false, nil
	}
	_, err = tx.Scope.NotificationRules().Update(ctx, id, func(r *store.NotificationRule) error {
		r.Name, r.Severity, r.GroupID, r.DestinationEventUser, r.TransportIDs =
			next.Name, next.Severity, next.GroupID, next.DestinationEventUser, next.TransportIDs
		return nil
	})
	return err == nil, err
}

func (ruleModel) Delete(ctx context.Context, tx *blueprint.Tx, id uuid.UUID) error {
	err := tx.Scope.NotificationRules().Delete(ctx, id)
	RulesChanged()
	return err
}

// Exists makes rules targets of policy bindings.
func (ruleModel) Exists(ctx context.Context, tx *blueprint.Tx, id uuid.UUID) (bool, error) {
	return exists(tx.Scope.NotificationRules().Get(ctx, id))
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// transportModel is authentik_events.notificationtransport, plus secret:
// the key that signs webhook requests (Authentik has none), sealed before
// it is stored and never shown again.
type transportModel struct{}

var transportFields = []string{"name", "mode", "webhook_url", "webhook_mapping_body", "send_once", "email_subject_prefix",
	"email_template", "secret"}

// transportUnsupported are Authentik fields an export carries empty.
var transportUnsupported = []string{"webhook_mapping_headers", "webhook_ca"}

// authentikEmailTemplate is Authentik's only shipped notification template,
// which is what ours renders.
const authentikEmailTemplate = "email/event_notification.html"

// Secret length bounds: long enough not to be guessed, short enough to be
// a key rather than a document.
const (
	minSecretLen = 16
	maxSecretLen = 1024
)

func transportValues(t *store.NotificationTransport) map[string]any {
	mapping := any(nil)
	if t.WebhookMappingID.Valid {
		mapping = t.WebhookMappingID.UUID
	}
	return map[string]any{"pk": t.ID, "name": t.Name, "mode": t.Mode, "webhook_url": t.WebhookURL,
		"webhook_mapping_body": mapping, "send_once": t.SendOnce, "email_subject_prefix": t.EmailSubjectPrefix}
}

func (transportModel) Find(ctx context.Context, tx *blueprint.Tx, by blueprint.Values) (uuid.UUID, bool, error) {
	if err := by.Check(append([]string{"pk"}, transportFields...)...); err != nil {
		return uuid.Nil, false, err
	}
	ts := tx.Scope.NotificationTransports()
	return find(by, "notification transports", func(id uuid.UUID) (*store.NotificationTransport, error) { return ts.Get(ctx, id) },
		func(name string) (*store.NotificationTransport, error) { return ts.GetByName(ctx, name) }, transportValues)
}

func applyTransport(ctx context.Context, tx *blueprint.Tx, t *store.NotificationTransport, v blueprint.Values) error {
	v, err := v.Unsupported(transportUnsupported...)
	if err != nil {
		return err
	}
	if err := v.Check(transportFields...); err != nil {
		return err
	}
	var problems []error
	for key, dst := range map[string]*string{"name": &t.Name, "mode": &t.Mode, "webhook_url": &t.WebhookURL,
		"email_subject_prefix": &t.EmailSubjectPrefix} {
		if s, given, err := v.String(key); given {
			*dst = strings.TrimSpace(s)
			problems = append(problems, err)
		}
	}
	if b, given, err := v.Bool("send_once"); given {
		t.SendOnce = b
		problems = append(problems, err)
	}
	if tpl, _, err := v.String("email_template"); err != nil || (tpl != "" && tpl != authentikEmailTemplate) {
		problems = append(problems, store.Invalid("email_template",
			"only %s is supported (Gatehouse's own template, in the recipient's language)", authentikEmailTemplate))
	}
	if _, given := v["webhook_mapping_body"]; given {
		t.WebhookMappingID, err = ref(v, "webhook_mapping_body", "webhook mapping", func(id uuid.UUID) (bool, error) {
			o, err := tx.Scope.PropertyMappings().Get(ctx, id)
			ok, err := exists(o, err)
			return ok && o.Kind == MappingKind, err
		})
		problems = append(problems, err)
	}
	problems = append(problems, sealSecret(tx, t, v))
	return fieldErrors(append(problems, t.Validate())...)
}

// sealSecret stores the entry's secret sealed. An unchanged secret is not
// sealed again (each seal differs), so re-applying a blueprint writes
// nothing; an empty or null secret removes it. Errors never quote it.
func sealSecret(tx *blueprint.Tx, t *store.NotificationTransport, v blueprint.Values) error {
	secret, given, err := v.String("secret")
	switch {
	case err != nil || !given:
		return err
	case secret == "":
		t.SecretEnc = ""
		return nil
	case utf8.RuneCountInString(secret) < minSecretLen || len(secret) > maxSecretLen:
		return store.Invalid("secret", "must be %d to %d characters", minSecretLen, maxSecretLen)
	}
	box := tx.Box()
	if box == nil {
		return store.Invalid("secret", "cannot be stored: no secret box is configured to seal it")
	}
	aad := SecretAAD(tx.Scope.TenantID(), t.ID)
	if t.SecretEnc != "" {
		if cur, err := box.OpenString(t.SecretEnc, aad); err == nil && cur == secret {
			return nil
		}
	}
	t.SecretEnc = box.SealString(secret, aad)
	return nil
}

func (transportModel) Create(ctx context.Context, tx *blueprint.Tx, v blueprint.Values) (uuid.UUID, error) {
	// Authentik's default mode; the ID comes first because the secret's
	// seal is bound to it.
	t := &store.NotificationTransport{ID: uuid.Must(uuid.NewV7()), Mode: store.TransportLocal}
	if err := applyTransport(ctx, tx, t, v); err != nil {
		return uuid.Nil, err
	}
	err := tx.Scope.NotificationTransports().Create(ctx, t)
	return t.ID, err
}

func (transportModel) Update(ctx context.Context, tx *blueprint.Tx, id uuid.UUID, v blueprint.Values) (bool, error) {
	cur, err := tx.Scope.NotificationTransports().Get(ctx, id)
	if err != nil {
		return false, err
	}
	next := *cur
	if err := applyTransport(ctx, tx, &next, v); err != nil {
		return false, err
	}
	if next == *cur {
		return false, nil
	}
	// The store keeps the ID, creation time and version of its own copy.
	_, err = tx.Scope.NotificationTransports().Update(ctx, id, func(t *store.NotificationTransport) error {
		*t = next
		return nil
	})
	return err == nil, err
}

func (transportModel) Delete(ctx context.Context, tx *blueprint.Tx, id uuid.UUID) error {
	return tx.Scope.NotificationTransports().Delete(ctx, id)
}

// mappingModel is authentik_events.notificationwebhookmapping: an
// expression returning the webhook body, kept with the other property
// mappings (kind notification_webhook).
type mappingModel struct{}

func mappingValues(o *store.Object) map[string]any {
	var c struct {
		Expression string `json:"expression"`
	}
	json.Unmarshal(o.Config, &c)
	return map[string]any{"pk": o.ID, "name": o.Name, "expression": c.Expression}
}

func (mappingModel) Find(ctx context.Context, tx *blueprint.Tx, by blueprint.Values) (uuid.UUID, bool, error) {
	if err := by.Check("pk", "name", "expression"); err != nil {
		return uuid.Nil, false, err
	}
	pm := tx.Scope.PropertyMappings()
	// A scope mapping of the same name is not this model's object.
	ofKind := func(o *store.Object, err error) (*store.Object, error) {
		if err == nil && o.Kind != MappingKind {
			return nil, store.ErrNotFound
		}
		return o, err
	}
	return find(by, "webhook mappings", func(id uuid.UUID) (*store.Object, error) { return ofKind(pm.Get(ctx, id)) },
		func(name string) (*store.Object, error) { return ofKind(pm.GetByName(ctx, name)) }, mappingValues)
}

func applyMapping(o *store.Object, v blueprint.Values) error {
	if err := v.Check("name", "expression"); err != nil {
		return err
	}
	have := mappingValues(o)
	name, expr := o.Name, have["expression"].(string)
	if s, given, err := v.String("name"); given {
		if err != nil {
			return err
		}
		name = strings.TrimSpace(s)
	}
	if s, given, err := v.String("expression"); given {
		if err != nil {
			return err
		}
		expr = s
	}
	cfg, err := json.Marshal(map[string]string{"expression": expr})
	if err != nil {
		return err
	}
	if _, err := compileMapping(name, cfg); err != nil {
		return err
	}
	o.Name, o.Config = name, cfg
	return nil
}

func (mappingModel) Create(ctx context.Context, tx *blueprint.Tx, v blueprint.Values) (uuid.UUID, error) {
	o := &store.Object{Kind: MappingKind}
	if err := applyMapping(o, v); err != nil {
		return uuid.Nil, err
	}
	if other, err := tx.Scope.PropertyMappings().GetByName(ctx, o.Name); err == nil {
		return uuid.Nil, store.Invalid("name", "a property mapping named %q already exists with kind %s", o.Name, other.Kind)
	}
	err := tx.Scope.PropertyMappings().Create(ctx, o)
	return o.ID, err
}

func (mappingModel) Update(ctx context.Context, tx *blueprint.Tx, id uuid.UUID, v blueprint.Values) (bool, error) {
	cur, err := tx.Scope.PropertyMappings().Get(ctx, id)
	if err != nil {
		return false, err
	}
	next := *cur
	if err := applyMapping(&next, v); err != nil {
		return false, err
	}
	if next.Name == cur.Name && string(next.Config) == string(cur.Config) {
		return false, nil
	}
	_, err = tx.Scope.PropertyMappings().Update(ctx, id, func(o *store.Object) error {
		o.Name, o.Config = next.Name, next.Config
		return nil
	})
	return err == nil, err
}

func (mappingModel) Delete(ctx context.Context, tx *blueprint.Tx, id uuid.UUID) error {
	return tx.Scope.PropertyMappings().Delete(ctx, id)
}
