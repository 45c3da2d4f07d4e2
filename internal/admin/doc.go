// Package admin is the admin console at /if/admin/: server-rendered HTML
// pages over the REST API.
//
// The console owns no business logic. Every read and write is a request
// to the API (internal/api) made in-process with the browser's own session
// cookie and the session's CSRF token, so validation, permissions (RBAC),
// model_* events and cache invalidation are exactly what a script calling
// /api/v3/ would get; when the API says 403 the page says 403. The pages
// are generated from the API's declared resources (api.Resources): every
// resource, including ones added after this package was written, gets a
// list (search, filters, ordering, paging), a detail page, create and edit
// forms and a delete confirmation, with no code per model. Hand-written
// pages exist only where a generic one is not enough: the overview, the
// "application with provider" wizard, the panels on a flow (stage
// bindings), a group (members), an application (launch link and policy
// bindings), a policy (test), the event browser and system information.
//
// The pages work without JavaScript and with the keyboard: real links and
// buttons, labels on every control, visible focus, field errors next to
// their fields with the user's input kept, and a confirmation page before
// anything is deleted. The only script copies a value to the clipboard
// and is hidden when scripts do not run.
//
// Texts are in English and Simplified Chinese (internal/i18n, admin.*
// messages); the language is chosen as on every other page (?locale=, the
// language cookie, Accept-Language) and switched at the bottom of each page.
// Labels of models, fields and choices come from the catalog when it knows
// them, else from the API's JSON names made readable.
//
// Who may enter: logged-in internal users who are superusers or hold
// authentik_rbac.access_admin_interface (Authentik's gate). External users
// get the "Interface can only be accessed by internal users" page; each
// page then shows only what the API lets the user see.
//
// Dependencies: only the standard library and our own packages.
package admin
