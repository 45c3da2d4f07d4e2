// Package oauth2 is the OAuth 2.0 and OpenID Connect provider, at
// Authentik's paths (/application/o/authorize/, /token/, /userinfo/,
// /introspect/, /revoke/, /device/, /par/, and per application
// /application/o/<slug>/.well-known/openid-configuration, /jwks/,
// /end-session/), so Authentik's client configurations work unchanged.
//
// The protocol is our own code on go-jose (through internal/crypto/keys
// and internal/crypto/jwt), as Dex does it: Authentik's per-provider
// issuers and keys, expression scope mappings and flow-driven consent
// would bend any framework. Authorization runs the provider's authorization
// flow with an in-memory fulfillment stage at its end, through what every
// provider kind shares (internal/provider: application access, the flow run,
// fulfil-after-flow, the provider cache); Service is a provider.Kind.
//
// Codes and tokens are store artifacts (only their hashes are kept),
// consumed once, and revoked by grant when a code, refresh token or device
// code is replayed. The token endpoint (token.go) authenticates the client
// once (client_auth.go, client_assertion.go) and hands the request to the
// grant its grant_type names, from a registry New builds: one file per
// grant (grant_*.go), sharing one redemption of single-use secrets
// (grant.go). The device flow's pages are device_page.go.
package oauth2
