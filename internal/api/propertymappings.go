package api

import (
	"github.com/google/uuid"
)

// Property mappings at Authentik's paths. Only OAuth2 scope mappings exist
// so far. Their settings are checked by the OAuth2 provider's parser
// through API.ValidateConfig (the hook blueprints use): this package does
// not import the providers, and the mapping's rules stay in one place.

// PropertyMapping is any property mapping, as propertymappings/all/ lists
// them (Authentik's PropertyMappingSerializer).
type PropertyMapping struct {
	PK                uuid.UUID `json:"pk"`
	Managed           *string   `json:"managed" doc:"set on the built-in mappings, which blueprints keep up to date"`
	Name              string    `json:"name"`
	Expression        string    `json:"expression"`
	Component         string    `json:"component"`
	VerboseName       string    `json:"verbose_name"`
	VerboseNamePlural string    `json:"verbose_name_plural"`
	MetaModelName     string    `json:"meta_model_name"`
	objectMeta        `json:"-"`
}

// ScopeMapping returns claims for an OAuth2 scope.
type ScopeMapping struct {
	PK                uuid.UUID `json:"pk"`
	Managed           *string   `json:"managed"`
	Name              string    `json:"name"`
	Expression        string    `json:"expression" doc:"returns a dict of claims"`
	Component         string    `json:"component"`
	VerboseName       string    `json:"verbose_name"`
	VerboseNamePlural string    `json:"verbose_name_plural"`
	MetaModelName     string    `json:"meta_model_name"`
	ScopeName         string    `json:"scope_name" doc:"the scope a client asks for"`
	Description       string    `json:"description" doc:"shown on the consent page"`
	objectMeta        `json:"-"`
}

// ScopeMappingRequest cannot set managed: that marks the built-in mappings.
type ScopeMappingRequest struct {
	Name        *string `json:"name,omitempty"`
	Expression  *string `json:"expression,omitempty"`
	ScopeName   *string `json:"scope_name,omitempty"`
	Description *string `json:"description,omitempty"`
}

func (a *API) registerPropertyMappings() {
	f := mappingFamily
	Register(a, readOnly(objects[PropertyMapping, struct{}](a, f, "", "propertymappings/all/", "propertymappings")))
	Register(a, objects[ScopeMapping, ScopeMappingRequest](a, f, "scope", "propertymappings/provider/scope/", "propertymappings",
		"name", "scope_name", "expression"))
}
