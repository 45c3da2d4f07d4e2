package admin

import (
	"strings"
	"unicode"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// Labels of models, fields and choices come from the catalog
// (admin.model.*, admin.models.*, admin.field.*, admin.enum.*) when it has
// them; a name it does not know (a resource added after this catalog) is
// made readable from its JSON name instead, so a new resource never shows
// raw IDs of messages.

// singular names one object of res ("User").
func (rq *req) singular(res *api.ResourceInfo) string {
	return modelLabel(rq.lang, res, false)
}

// plural names the list of res ("Users").
func (rq *req) plural(res *api.ResourceInfo) string {
	return modelLabel(rq.lang, res, true)
}

func modelLabel(l i18n.Lang, res *api.ResourceInfo, plural bool) string {
	name := res.ModelName()
	id := "admin.model." + name
	if plural {
		id = "admin.models." + name
	}
	if i18n.HasAdmin(id) {
		return i18n.Admin(l, id, nil)
	}
	// Unknown model: the last meaningful segment of the path.
	parts := strings.Split(strings.TrimSuffix(res.Path, "/"), "/")
	base := parts[len(parts)-1]
	if base == "all" || base == "instances" {
		if len(parts) > 1 {
			base = parts[len(parts)-2]
		}
	} else if len(parts) > 1 && !plural {
		base = strings.TrimSuffix(base, "s")
	}
	if name != "" && !plural {
		base = name
	}
	return humanize(base)
}

// fieldLabel names a JSON field.
func fieldLabel(l i18n.Lang, name string) string {
	if id := "admin.field." + name; i18n.HasAdmin(id) {
		return i18n.Admin(l, id, nil)
	}
	return humanize(name)
}

// enumLabel names a choice.
func enumLabel(l i18n.Lang, value string) string {
	if id := "admin.enum." + value; i18n.HasAdmin(id) {
		return i18n.Admin(l, id, nil)
	}
	return value
}

// humanize turns "meta_launch_url" into "Meta launch URL".
func humanize(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' || r == '/' })
	for i, w := range words {
		switch strings.ToLower(w) {
		case "url", "uri", "id", "ip", "pk", "uid", "jwks", "jwt", "oidc", "saml", "ldap", "scim", "mfa", "totp", "api":
			words[i] = strings.ToUpper(w)
			continue
		case "uris", "urls", "ids":
			words[i] = strings.ToUpper(w[:len(w)-1]) + "s"
			continue
		}
		if i == 0 {
			r := []rune(w)
			r[0] = unicode.ToUpper(r[0])
			words[i] = string(r)
		}
	}
	return strings.Join(words, " ")
}

// apiMessages translates the API's stock English messages (field errors
// and problem details); anything else is shown as the API wrote it.
var apiMessages = map[string]string{
	"this field is required":                              "admin.api.required",
	"is required":                                         "admin.api.required",
	"may not be null":                                     "admin.api.not_null",
	"must not be empty":                                   "admin.api.required",
	"already exists":                                      "admin.api.exists",
	"is not a field of this object":                       "admin.api.unknown_field",
	"must be a string":                                    "admin.api.must_string",
	"must be true or false":                               "admin.api.must_bool",
	"must be a whole number":                              "admin.api.must_int",
	"must be a number":                                    "admin.api.must_number",
	"must be a UUID string":                               "admin.api.must_uuid",
	"must be a list":                                      "admin.api.must_list",
	"must be an object":                                   "admin.api.must_object",
	"must be an RFC 3339 date-time":                       "admin.api.must_time",
	"no such provider":                                    "admin.api.no_provider",
	"no such user":                                        "admin.api.no_user",
	"invalid input":                                       "admin.api.invalid",
	"not found":                                           "admin.error.not_found",
	"you cannot delete yourself":                          "admin.api.delete_self",
	"must be 1 to 256 characters":                         "admin.api.length_256",
	"must be at most 150 characters":                      "admin.api.length_150",
	"may contain only letters, digits and @ . + - _":      "admin.api.username",
	"is not a valid email address":                        "admin.api.email",
	"must be an http(s) URL":                              "admin.api.must_http_url",
	"must be 1 to 100 lower-case letters, digits, - or _": "admin.api.slug",
	"a group cannot be its own parent":                    "admin.api.own_parent",
	"must be slash-separated names without empty parts":   "admin.api.path",
	"exactly one of policy, group or user must be set":    "admin.api.one_subject",
	"the object changed meanwhile; reload and retry":      "admin.api.changed",
	"the object changed since the ETag you sent; reload and retry": "admin.api.changed",
	"only superusers may grant superuser rights":                   "admin.api.superuser_only",
	"the body must be a JSON object":                               "admin.api.invalid",
	"authentication credentials were not provided or are invalid":  "admin.error.forbidden",

	// What a group's roles and parent may not hand on (core/groups/).
	"no such group": "admin.api.no_group",

	// Who may act on whom (core.MayActOn, core.MayChangeGroup).
	core.MsgSuperuserTarget: "admin.api.superuser_target",
	core.MsgStrongerTarget:  "admin.api.stronger_target",
	core.MsgSuperuserGroup:  "admin.api.superuser_group",
	"several users have a token with this identifier; address it by its pk": "admin.api.token_ambiguous",

	// What rbac/permissions/assigned_by_roles/ refuses.
	"must name at least one permission": "admin.api.no_permissions",
}

// apiMessage shows an API message in l.
func apiMessage(l i18n.Lang, msg string) string {
	if id, ok := apiMessages[msg]; ok {
		return tr(l, id, nil)
	}
	if strings.HasPrefix(msg, "you do not have permission to perform this action") {
		if _, need, ok := strings.Cut(msg, "(needs "); ok {
			return tr(l, "admin.api.needs", map[string]any{"perm": strings.TrimSuffix(need, ")")})
		}
	}
	if limit, ok := strings.CutPrefix(msg, "must be at most "); ok && strings.HasSuffix(limit, " from now") {
		return tr(l, "admin.api.token_lifetime", map[string]any{"limit": strings.TrimSuffix(limit, " from now")})
	}
	if perm, ok := strings.CutPrefix(msg, core.MsgNotHeld); ok {
		return tr(l, "admin.api.perm_not_held", map[string]any{"perm": strings.TrimSuffix(perm, ")")})
	}
	// An application's provider, checked by the domain layer
	// (core.Writer.CreateApplication).
	if strings.HasPrefix(msg, "no provider with ID ") && strings.HasSuffix(msg, " exists") {
		return tr(l, "admin.api.no_provider", nil)
	}
	if app, ok := strings.CutPrefix(msg, "is already the provider of application "); ok {
		return tr(l, "admin.api.provider_taken", map[string]any{"app": strings.Trim(app, `"`)})
	}
	if id, ok := strings.CutPrefix(msg, "no such role: "); ok {
		return tr(l, "admin.api.no_role", map[string]any{"role": id})
	}
	if strings.HasSuffix(msg, " is reserved") {
		return tr(l, "admin.api.reserved", map[string]any{"value": strings.TrimSuffix(msg, " is reserved")})
	}
	if rest, ok := strings.CutPrefix(msg, "must be one of "); ok {
		return tr(l, "admin.api.one_of", map[string]any{"values": rest})
	}
	return msg
}
