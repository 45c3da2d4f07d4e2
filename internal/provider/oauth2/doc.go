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
// flow with an in-memory fulfillment stage at its end; codes and tokens are
// store artifacts (only their hashes are kept), consumed once, and revoked
// by grant when a code or refresh token is replayed.
package oauth2
