// Package notification turns audit events into notifications, as
// Authentik's notification rules and transports do (docs/notifications.md
// is the user guide).
//
// A rule selects events with the policies bound to it (event matchers and
// expressions, which see the event as request.context["event"]), names a
// severity and a destination group, and lists transports: webhook, Slack-
// compatible webhook, email, or local (the notification alone).
//
// # How an event becomes deliveries
//
// Nothing happens on the request path but a cached yes/no: the audit
// writer's hook (Service.Event) asks whether the tenant has any rule, an
// answer kept HasRulesTTL per tenant, so a login costs a map lookup when
// notifications are unused. When the tenant has rules, the hook enqueues
// one dispatch job for the event (unique by event ID). The dispatch job
// evaluates every rule's policies (mode any; a rule without policies
// matches nothing, as Authentik's), creates a notification per effective
// member of the destination group (members of its descendant groups
// included) and enqueues a delivery job per (notification, transport),
// unique by that pair. A delivery that fails returns its error and the
// job queue retries it with backoff; a delivery that succeeds records a
// row, so a delivery job enqueued again (by a retried dispatch) sends
// nothing. Delivery is therefore exactly once per (notification,
// transport) unless Gatehouse dies between the receiver's answer and that
// row's write, in which case it is at least once: receivers that care
// de-duplicate on the X-Gatehouse-Delivery header.
//
// Events about a policy bound to a rule (its policy_exception, or its
// policy_execution when it logs its runs) are not dispatched, as in
// Authentik: otherwise the policy would judge its own event, record
// another, and loop.
//
// # Webhook signatures
//
// A transport with a secret signs each request:
//
//	X-Gatehouse-Timestamp: <Unix time in seconds, decimal>
//	X-Gatehouse-Signature: sha256=<lower-case hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// where body is the exact request body. The timestamp is inside the MAC
// so a receiver that rejects old timestamps (five minutes is usual) also
// rejects a replayed request; retries are signed afresh. The secret is
// sealed at rest with the secret box and never logged, recorded in an
// event, or put in a job's payload.
//
// Webhook requests time out after WebhookTimeout, follow no redirects (a
// redirect could carry the signed body somewhere the admin did not name)
// and go only to http and https URLs, which the store enforces when a
// transport is saved.
//
// Dependencies: only the standard library (net/http, crypto/hmac) and our
// own packages; a webhook is one POST.
package notification
