// Package mail sends Gatehouse's email: verification links, password
// resets, invitations and the admin's test message.
//
// Messages are rendered from embedded template pairs (text/template for
// the subject and plain-text part, html/template for the HTML part, which
// escapes every value) in English and Simplified Chinese, then queued as
// jobs (internal/job), so a slow or unreachable SMTP server never delays a
// request, and a failed delivery is retried and visible in the job list.
//
// Security choices: recipients and subjects with line breaks or control
// characters are refused before they reach a header; STARTTLS, when
// configured, is required rather than opportunistic (a man in the middle
// cannot downgrade it); passwords are only sent over TLS or to localhost;
// delivery errors name the server and a hint, never the password.
//
// Dependencies, and why:
//   - github.com/wneessen/go-mail: actively maintained (net/smtp is frozen
//     and gomail is abandoned); an explicit TLS policy, so STARTTLS can be
//     mandatory; PLAIN, LOGIN, CRAM-MD5 and SCRAM authentication chosen
//     from what the server offers; correct MIME (multipart/alternative,
//     quoted-printable, RFC 2047 subjects) and header encoding; a context-
//     aware dial we hook to end a conversation when a job is cancelled.
//     Pinned at v0.8.1: later releases need a newer Go than ours.
//   - github.com/emersion/go-smtp, in tests only: a real SMTP server with
//     STARTTLS, implicit TLS and SASL, so tests exercise what a mail relay
//     does rather than a mock of it.
package mail
