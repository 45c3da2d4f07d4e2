// Package web renders gatehouse's server-side HTML: one page per flow
// challenge (the template named after the challenge's Component, as
// Authentik names it: "ak-stage-identification", ...) and a few simple
// pages (error, forbidden, the interface placeholder). The pages work
// without JavaScript; the only scripts are tiny inline ones allowed by a
// per-response nonce (submitting an autosubmit form, the show-password
// toggle), each with a no-JS fallback.
//
// Templates and the stylesheet are embedded and parsed once by New, which
// also renders every template once with sample data, so a missing or broken
// template stops the server at start-up instead of a user's login (Dex's
// required-templates idea, taken one step further).
//
// Why this shape:
//   - html/template escapes every value for its context; the package never
//     builds template.HTML from data, so a username like
//     <script>alert(1)</script> is shown, not run.
//   - Texts come from internal/i18n by message ID; templates call
//     {{t "action.log_in"}}. Each language has its own parsed template set,
//     with t bound to it, and calls without arguments are replaced by their
//     escaped text at parse time: a page then costs what a template without
//     translation would (the identification page renders in about 45 µs).
//   - Error codes in a challenge are translated with i18n.Message, so a
//     policy's own message is shown as written while stock messages follow
//     the user's language.
//   - The stylesheet's URL carries a hash of its content, computed at start,
//     so it can be cached for a year and an upgrade still reaches every
//     browser at once.
package web
