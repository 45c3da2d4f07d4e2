package blueprint

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func registerCoreModels(r *Registry) {
	r.Register("authentik_core.group", groupModel{})
	r.Register("authentik_core.user", userModel{})
	r.Register("authentik_stages_invitation.invitation", invitationModel{})
}

// byKeys loads the object a lookup names by the first of keys it gives
// (e.g. pk, then name), then checks the other fields against have. A null
// key (a !Find that matched nothing) finds nothing.
func byKeys[T any](by Values, what string, keys []string, get func(key, value string) (*T, error),
	have func(*T) map[string]any) (uuid.UUID, bool, error) {
	for _, k := range keys {
		if _, given := by[k]; !given {
			continue
		}
		s, _, err := by.String(k)
		if err != nil || s == "" {
			return uuid.Nil, false, err
		}
		obj, ok, err := found(get(k, s))
		if !ok || err != nil {
			return uuid.Nil, false, err
		}
		h := have(obj)
		return h["pk"].(uuid.UUID), matchAll(by, h), nil
	}
	return uuid.Nil, false, errors.New(what + " are looked up by " + joinOr(keys))
}

func joinOr(keys []string) string {
	out := ""
	for i, k := range keys {
		switch {
		case i == 0:
		case i == len(keys)-1:
			out += " or "
		default:
			out += ", "
		}
		out += k
	}
	return out
}

// parsePK reads a pk lookup value; a malformed one matches nothing.
func parsePK(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, store.ErrNotFound
	}
	return id, nil
}

// groupModel is authentik_core.group, written through the domain layer.
type groupModel struct{}

func (groupModel) DomainWrites() {}

var groupFields = []string{"name", "is_superuser", "parent", "attributes"}

func groupValues(g *store.Group) map[string]any {
	parent := any(nil)
	if g.ParentID.Valid {
		parent = g.ParentID.UUID
	}
	return map[string]any{"pk": g.ID, "name": g.Name, "is_superuser": g.IsSuperuser, "parent": parent,
		"attributes": g.Attributes}
}

func (groupModel) Find(ctx context.Context, tx *Tx, by Values) (uuid.UUID, bool, error) {
	if err := by.Check(append([]string{"pk"}, groupFields...)...); err != nil {
		return uuid.Nil, false, err
	}
	return byKeys(by, "groups", []string{"pk", "name"}, func(key, value string) (*store.Group, error) {
		if key == "name" {
			return tx.Scope.Groups().GetByName(ctx, value)
		}
		id, err := parsePK(value)
		if err != nil {
			return nil, err
		}
		return tx.Scope.Groups().Get(ctx, id)
	}, groupValues)
}

func applyGroup(g *store.Group, v Values) error {
	if err := v.Check(groupFields...); err != nil {
		return err
	}
	fl := fields{v: v}
	fl.str("name", &g.Name)
	fl.boolean("is_superuser", &g.IsSuperuser)
	fl.ref("parent", &g.ParentID)
	fl.attributes("attributes", &g.Attributes)
	return fl.err()
}

func checkParent(ctx context.Context, tx *Tx, g *store.Group) error {
	if !g.ParentID.Valid {
		return nil
	}
	if _, ok, err := found(tx.Scope.Groups().Get(ctx, g.ParentID.UUID)); !ok {
		return errors.Join(err, notFoundField("parent", "group", g.ParentID.UUID))
	}
	return nil
}

func (groupModel) Create(ctx context.Context, tx *Tx, v Values) (uuid.UUID, error) {
	g := &store.Group{}
	if err := applyGroup(g, v); err != nil {
		return uuid.Nil, err
	}
	if err := checkParent(ctx, tx, g); err != nil {
		return uuid.Nil, err
	}
	err := tx.Core().As(tx.Actor()).CreateGroup(ctx, tx.Scope, g, nil)
	return g.ID, err
}

func (groupModel) Update(ctx context.Context, tx *Tx, id uuid.UUID, v Values) (bool, error) {
	cur, err := tx.Scope.Groups().Get(ctx, id)
	if err != nil {
		return false, err
	}
	next := *cur
	if err := applyGroup(&next, v); err != nil {
		return false, err
	}
	if sameJSON(groupValues(cur), groupValues(&next)) {
		return false, nil
	}
	if err := checkParent(ctx, tx, &next); err != nil {
		return false, err
	}
	_, err = tx.Core().As(tx.Actor()).UpdateGroup(ctx, tx.Scope, id, 0, func(g *store.Group) error { return applyGroup(g, v) }, nil)
	return err == nil, err
}

func (groupModel) Delete(ctx context.Context, tx *Tx, id uuid.UUID) error {
	return tx.Core().As(tx.Actor()).DeleteGroup(ctx, tx.Scope, id)
}

// userModel is authentik_core.user. A password attribute is hashed with
// Options.HashPassword; it is set when the user is created, and later only
// while the user has no usable password, so re-applying a blueprint never
// overwrites a password the user has chosen since. It writes through the
// domain layer.
type userModel struct{}

func (userModel) DomainWrites() {}

var userFields = []string{"username", "name", "email", "type", "is_active", "path", "attributes", "groups", "password"}

func userValues(u *store.User) map[string]any {
	return map[string]any{"pk": u.ID, "username": u.Username, "name": u.Name, "email": u.Email,
		"type": string(u.Type), "is_active": u.IsActive, "path": u.Path, "attributes": u.Attributes}
}

func (userModel) Find(ctx context.Context, tx *Tx, by Values) (uuid.UUID, bool, error) {
	if err := by.Check("pk", "username", "email", "name", "type", "is_active", "path"); err != nil {
		return uuid.Nil, false, err
	}
	return byKeys(by, "users", []string{"pk", "username", "email"}, func(key, value string) (*store.User, error) {
		switch key {
		case "username":
			return tx.Scope.Users().GetByUsername(ctx, value)
		case "email":
			return tx.Scope.Users().GetByEmail(ctx, value)
		}
		id, err := parsePK(value)
		if err != nil {
			return nil, err
		}
		return tx.Scope.Users().Get(ctx, id)
	}, userValues)
}

func applyUser(u *store.User, v Values) error {
	if err := v.Check(userFields...); err != nil {
		return err
	}
	fl := fields{v: v}
	fl.str("username", &u.Username)
	fl.str("name", &u.Name)
	fl.str("email", &u.Email)
	t := string(u.Type)
	fl.str("type", &t)
	u.Type = store.UserType(t)
	fl.boolean("is_active", &u.IsActive)
	fl.str("path", &u.Path)
	fl.attributes("attributes", &u.Attributes)
	return fl.err()
}

// userGroups reads the groups attribute: the complete list of groups the
// user is a direct member of.
func userGroups(ctx context.Context, tx *Tx, v Values) ([]uuid.UUID, bool, error) {
	list, given, err := v.List("groups")
	if !given || err != nil {
		return nil, given, err
	}
	var out []uuid.UUID
	for _, x := range list {
		id, _, err := Values{"groups": x}.UUID("groups")
		if err != nil || !id.Valid {
			return nil, true, store.Invalid("groups", "must list group IDs (use !KeyOf or !Find)")
		}
		if _, ok, err := found(tx.Scope.Groups().Get(ctx, id.UUID)); !ok {
			return nil, true, errors.Join(err, notFoundField("groups", "group", id.UUID))
		}
		out = append(out, id.UUID)
	}
	return out, true, nil
}

func (userModel) password(tx *Tx, v Values) (string, error) {
	p, given, err := v.String("password")
	if !given || err != nil || p == "" {
		return "", err
	}
	return tx.HashPassword(p)
}

func (m userModel) Create(ctx context.Context, tx *Tx, v Values) (uuid.UUID, error) {
	u := &store.User{Type: store.UserInternal, IsActive: true}
	if err := applyUser(u, v); err != nil {
		return uuid.Nil, err
	}
	groups, _, err := userGroups(ctx, tx, v)
	if err != nil {
		return uuid.Nil, err
	}
	if u.PasswordHash, err = m.password(tx, v); err != nil {
		return uuid.Nil, err
	}
	if u.PasswordHash != "" {
		u.PasswordChangeDate = time.Now().UTC()
	}
	w := tx.Core().As(tx.Actor())
	if err := w.CreateUser(ctx, tx.Scope, u, ""); err != nil {
		return uuid.Nil, err
	}
	_, err = w.SetUserGroups(ctx, tx.Scope, u.ID, groups)
	return u.ID, err
}

func (m userModel) Update(ctx context.Context, tx *Tx, id uuid.UUID, v Values) (bool, error) {
	cur, err := tx.Scope.Users().Get(ctx, id)
	if err != nil {
		return false, err
	}
	next := *cur
	if err := applyUser(&next, v); err != nil {
		return false, err
	}
	groups, setGroups, err := userGroups(ctx, tx, v)
	if err != nil {
		return false, err
	}
	hash := ""
	if !cur.HasUsablePassword() {
		if hash, err = m.password(tx, v); err != nil {
			return false, err
		}
	}
	w := tx.Core().As(tx.Actor())
	changed := false
	if hash != "" || !sameJSON(userValues(cur), userValues(&next)) {
		_, err = w.UpdateUser(ctx, tx.Scope, id, 0, func(u *store.User) error {
			if hash != "" {
				u.PasswordHash, u.PasswordChangeDate = hash, time.Now().UTC()
			}
			return applyUser(u, v)
		})
		if err != nil {
			return false, err
		}
		changed = true
	}
	if setGroups {
		moved, err := w.SetUserGroups(ctx, tx.Scope, id, groups)
		if err != nil {
			return false, err
		}
		changed = changed || moved
	}
	return changed, nil
}

func (userModel) Delete(ctx context.Context, tx *Tx, id uuid.UUID) error {
	return tx.Core().As(tx.Actor()).DeleteUser(ctx, tx.Scope, id)
}

// invitationModel is authentik_stages_invitation.invitation. The store
// keeps the flow's slug; the blueprint names the flow by ID, as Authentik's.
type invitationModel struct{}

var invitationFields = []string{"name", "expires", "single_use", "fixed_data", "flow", "created_by"}

func invitationValues(i *store.Invitation) map[string]any {
	var exp any
	if !i.Expires.IsZero() {
		exp = i.Expires.UTC().Format(time.RFC3339Nano)
	}
	var by any
	if i.CreatedBy.Valid {
		by = i.CreatedBy.UUID
	}
	return map[string]any{"pk": i.ID, "name": i.Name, "expires": exp, "single_use": i.SingleUse,
		"fixed_data": i.FixedData, "flow_slug": i.FlowSlug, "created_by": by}
}

func (invitationModel) Find(ctx context.Context, tx *Tx, by Values) (uuid.UUID, bool, error) {
	if err := by.Check("pk", "name", "single_use"); err != nil {
		return uuid.Nil, false, err
	}
	return byKeys(by, "invitations", []string{"pk", "name"}, func(key, value string) (*store.Invitation, error) {
		if key == "pk" {
			id, err := parsePK(value)
			if err != nil {
				return nil, err
			}
			return tx.Scope.Invitations().Get(ctx, id)
		}
		return invitationByName(ctx, tx.Scope, value)
	}, invitationValues)
}

// invitationByName pages through the invitations: the store has no
// lookup by name, and invitations are few.
func invitationByName(ctx context.Context, sc store.Scope, name string) (*store.Invitation, error) {
	for page := 1; ; page++ {
		list, total, err := sc.Invitations().List(ctx, store.Page{Number: page, Size: store.MaxPageSize})
		if err != nil {
			return nil, err
		}
		for _, i := range list {
			if i.Name == name {
				return i, nil
			}
		}
		if len(list) == 0 || page*store.MaxPageSize >= total {
			return nil, store.ErrNotFound
		}
	}
}

// expiryLayouts are the spellings of a date Authentik exports and people write.
var expiryLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05", "2006-01-02"}

func applyInvitation(ctx context.Context, tx *Tx, i *store.Invitation, v Values) error {
	if err := v.Check(invitationFields...); err != nil {
		return err
	}
	fl := fields{v: v}
	fl.str("name", &i.Name)
	fl.boolean("single_use", &i.SingleUse)
	fl.ref("created_by", &i.CreatedBy)
	if m, ok, err := v.Map("fixed_data"); ok {
		fl.note(err)
		i.FixedData = m
	}
	if s, ok, err := v.String("expires"); ok {
		fl.note(err)
		i.Expires = time.Time{}
		if s != "" {
			var perr error
			for _, layout := range expiryLayouts {
				var t time.Time
				if t, perr = time.Parse(layout, s); perr == nil {
					i.Expires = t.UTC().Truncate(time.Microsecond)
					break
				}
			}
			if perr != nil {
				fl.note(store.Invalid("expires", "%q is not a date and time (e.g. 2030-01-31T12:00:00Z)", s))
			}
		}
	}
	if id, ok, err := v.UUID("flow"); ok {
		fl.note(err)
		i.FlowSlug = ""
		if id.Valid {
			f, ok, ferr := found(tx.Scope.Flows().Get(ctx, id.UUID))
			if ferr != nil {
				return ferr
			}
			if !ok {
				fl.note(notFoundField("flow", "flow", id.UUID))
			} else {
				i.FlowSlug = f.Slug
			}
		}
	}
	return fl.err()
}

func (invitationModel) Create(ctx context.Context, tx *Tx, v Values) (uuid.UUID, error) {
	i := &store.Invitation{}
	if err := applyInvitation(ctx, tx, i, v); err != nil {
		return uuid.Nil, err
	}
	err := tx.Scope.Invitations().Create(ctx, i)
	return i.ID, err
}

// Update replaces the invitation under the same ID when it changed: the
// store keeps invitations immutable, and the ID is what links carry.
func (invitationModel) Update(ctx context.Context, tx *Tx, id uuid.UUID, v Values) (bool, error) {
	cur, err := tx.Scope.Invitations().Get(ctx, id)
	if err != nil {
		return false, err
	}
	next := *cur
	if err := applyInvitation(ctx, tx, &next, v); err != nil {
		return false, err
	}
	if sameJSON(invitationValues(cur), invitationValues(&next)) {
		return false, nil
	}
	if err := tx.Scope.Invitations().Delete(ctx, id); err != nil {
		return false, err
	}
	next.ID = id
	return true, tx.Scope.Invitations().Create(ctx, &next)
}

func (invitationModel) Delete(ctx context.Context, tx *Tx, id uuid.UUID) error {
	return tx.Scope.Invitations().Delete(ctx, id)
}
