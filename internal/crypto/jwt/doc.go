// Package jwt is Gatehouse's one wrapper around JOSE: it verifies JWS
// compact tokens (client assertions, id_token_hint, request objects,
// federation tokens) and signs HS256 tokens with client secrets. Every other
// package that reads or writes a JWT goes through here or through
// internal/crypto/keys, so the algorithm rules live in one place.
//
// The rules, each a known way JWT verification has failed elsewhere:
//   - The caller names the algorithms it accepts; "none" is never one.
//   - The key is chosen by the token's kid, and must be of the family the
//     header's alg needs (RS*/PS* an RSA key of at least 2048 bits, ES* an
//     EC key on the matching curve, EdDSA an Ed25519 key, HS* a secret); a
//     key that names its own alg must name this one. This closes RS/HS key
//     confusion (an HS256 token "signed" with the RSA public key).
//   - Keys carried by the token itself (jwk, jku, x5u, x5c headers) are
//     never used: a token cannot vouch for itself.
//   - Only the compact serialization is accepted (RFC 7519 §7.2), so a token
//     has exactly one signature; "crit" extensions are refused.
//   - Errors are the typed values below and never contain key material.
//
// Dependencies, and why: github.com/go-jose/go-jose/v4 is the only JOSE
// library in the module (one parser, one place for algorithm bugs, unlike
// the several JWT libraries some peers carry). Version 4 made the safe API
// mandatory: parsing requires the list of expected algorithms, HMAC keys
// shorter than the hash are refused, and decompression of JWE is capped. It
// is the library Dex, Authelia, Zitadel and coreos/go-oidc use.
package jwt
