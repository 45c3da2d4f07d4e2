package oauth2

import (
	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/provider"
)

// Service is a provider kind: RegisterAPI (api.go), RegisterBlueprint
// (blueprint.go), Mount (http.go), StageKinds (fulfillment.go) and
// Invalidate (service.go) are its other methods.
var _ provider.Kind = (*Service)(nil)

// Name is the store kind of OAuth2 providers.
func (s *Service) Name() string { return Kind }

// Settings is Config, the one declaration of an OAuth2 provider's settings.
func (s *Service) Settings() any { return Config{} }

// ValidateConfig checks scope mappings, the property mappings this kind
// owns, with the parser that runs them.
func (s *Service) ValidateConfig(family, kind string, config []byte) (bool, error) {
	if family != blueprint.FamilyMapping || kind != MappingKind {
		return false, nil
	}
	_, err := ParseMapping("mapping", config)
	return true, err
}
