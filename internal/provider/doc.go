// Package provider is what every provider kind shares, and the seam a kind
// plugs into. A kind (OAuth2/OpenID Connect in internal/provider/oauth2;
// SAML, LDAP, forward auth later) is a package that implements Kind and is
// listed once in the composition root (internal/app/wire.go); the product
// then mounts its endpoints, registers its API resources, blueprint model
// and flow stages, and drops its caches on admin writes.
//
// What is not a protocol's lives here, so kinds do not copy it and never
// import each other:
//
//   - application access: an application's policy bindings decide who may
//     use it (Env.Allowed), whatever the protocol asks for the user;
//   - the authorization flow: the provider's flow, with consent forced
//     once when the client asks for it, runs for the logged-in user with
//     the kind's fulfilment stage at its end (Env.Authorize);
//   - fulfil after the flow: the kind's last stage answers whoever asked
//     (a client, a device, a service provider), and answers them too when
//     the flow is denied before it (Fulfiller, FulfilStage);
//   - the provider cache: each kind's providers with their applications,
//     resolved once and kept a few seconds (Cache), dropped through
//     internal/invalidate.
package provider
