package expression

import (
	"fmt"

	"go.starlark.net/starlark"
)

// The Authentik helpers that reach outside the expression: messages, the
// directory and the event log.

// akMessage is ak_message(message): the message is shown to the user with
// the policy's result.
func akMessage(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs("ak_message", args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	r := runOf(thread)
	msg, ok := starlark.AsString(v)
	if !ok {
		if err := r.checkStr("ak_message", v); err != nil {
			return nil, err
		}
		msg = v.String()
	}
	if r.msgBytes += len(msg); r.msgBytes > r.lim.MaxValueLen {
		return nil, fmt.Errorf("ak_message: messages too long (more than %d bytes in all)", r.lim.MaxValueLen)
	}
	r.messages = append(r.messages, msg)
	return starlark.None, nil
}

func (r *run) helpers(fn string) error {
	if r.in.Helpers == nil {
		return fmt.Errorf("%s is not available here (no directory access in this context)", fn)
	}
	return nil
}

// akIsGroupMember is ak_is_group_member(user, name="group").
func akIsGroupMember(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var user starlark.Value
	var name string
	if err := starlark.UnpackArgs("ak_is_group_member", args, kwargs, "user", &user, "name", &name); err != nil {
		return nil, err
	}
	u, ok := user.(*userValue)
	if !ok {
		return nil, fmt.Errorf("ak_is_group_member: want a user, got %s", user.Type())
	}
	r := runOf(thread)
	if err := r.helpers("ak_is_group_member"); err != nil {
		return nil, err
	}
	if u.u == nil {
		return starlark.False, nil
	}
	member, err := r.in.Helpers.IsGroupMember(r.ctx, u.u.ID, name)
	if err != nil {
		return nil, fmt.Errorf("ak_is_group_member: %w", err)
	}
	return starlark.Bool(member), nil
}

// userByFields maps ak_user_by's keyword arguments to Helpers.UserBy
// fields.
var userByFields = map[string]string{"username": "username", "email": "email", "pk": "id", "id": "id", "uuid": "id"}

// akUserBy is ak_user_by(username=...), or email=, pk=: a user or None.
func akUserBy(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 || len(kwargs) != 1 {
		return nil, fmt.Errorf("ak_user_by: want exactly one of username=, email= or pk=")
	}
	key := string(kwargs[0][0].(starlark.String))
	field, ok := userByFields[key]
	if !ok {
		return nil, fmt.Errorf("ak_user_by: unsupported filter %s (want username=, email= or pk=)", key)
	}
	value, ok := starlark.AsString(kwargs[0][1])
	if !ok {
		return nil, fmt.Errorf("ak_user_by: %s must be a string, got %s", key, kwargs[0][1].Type())
	}
	r := runOf(thread)
	if err := r.helpers("ak_user_by"); err != nil {
		return nil, err
	}
	u, err := r.in.Helpers.UserBy(r.ctx, field, value)
	if err != nil {
		return nil, fmt.Errorf("ak_user_by: %w", err)
	}
	if u == nil {
		return starlark.None, nil
	}
	return newUserValue(u), nil
}

// akCreateEvent is ak_create_event(action, **data).
func akCreateEvent(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var action string
	if err := starlark.UnpackPositionalArgs("ak_create_event", args, nil, 1, &action); err != nil {
		return nil, err
	}
	r := runOf(thread)
	if err := r.helpers("ak_create_event"); err != nil {
		return nil, err
	}
	data := make(map[string]any, len(kwargs))
	for _, kv := range kwargs {
		key := string(kv[0].(starlark.String))
		v, err := r.toGo(kv[1])
		if err != nil {
			return nil, fmt.Errorf("ak_create_event: %s: %v", key, err)
		}
		data[key] = v
	}
	if err := r.in.Helpers.CreateEvent(r.ctx, action, data); err != nil {
		return nil, fmt.Errorf("ak_create_event: %w", err)
	}
	return starlark.None, nil
}
