package provider

import (
	"net/http"
	"reflect"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/flow"
)

// Kind is one kind of provider. The composition root lists the kinds it
// serves and hands each to the parts of the product below; nothing
// registers itself, so a kind that is not listed is not served at all.
type Kind interface {
	// Name is the kind as the store records it (store.Provider.Kind),
	// e.g. "oauth2".
	Name() string
	// Settings is a zero value of the kind's settings struct: the one Go
	// declaration of what a provider of this kind stores in
	// store.Provider.Config, under Authentik's JSON field names. What
	// accepts settings (blueprint models, API shapes) is derived from it
	// (SettingNames), not declared again.
	Settings() any
	// ValidateConfig checks, for the hook the API and blueprints share,
	// the settings of an object the kind owns besides its providers (its
	// property mappings). known is false for a family and kind it does
	// not own. A provider's own settings are checked by the kind's API
	// resource and blueprint model, with the same parser.
	ValidateConfig(family, kind string, config []byte) (known bool, err error)
	// RegisterAPI adds the kind's resources to the REST API
	// (providers/<kind>/ and its actions).
	RegisterAPI(a *api.API)
	// RegisterBlueprint adds the kind's blueprint models.
	RegisterBlueprint(r *blueprint.Registry)
	// Mount adds the kind's HTTP endpoints.
	Mount(mux *http.ServeMux)
	// StageKinds are the in-memory stages the kind adds to the flow
	// engine (its fulfilment stage); nil for none.
	StageKinds() map[string]flow.Factory
	// Invalidate drops what the kind caches of tenant (of every tenant for
	// uuid.Nil); it is subscribed to invalidate.Providers.
	Invalidate(tenant uuid.UUID)
}

// SettingNames are the JSON names of a settings struct's exported fields
// (Kind.Settings), in declaration order: a setting added to the struct is
// accepted wherever this list is read, with no second list to keep in step.
func SettingNames(settings any) []string {
	t := reflect.TypeOf(settings)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
