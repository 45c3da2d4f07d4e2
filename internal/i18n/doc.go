// Package i18n holds the user interface's words in English and Simplified
// Chinese, and picks one of the two for a request.
//
// Every text has a stable message ID ("action.log_in",
// "stage.password.invalid"): stages put the ID in a challenge's error code,
// the HTML renderer and native clients translate by it, so the same
// challenge reads right in either language and in JSON. The IDs are
// constants in ids.go; catalog_*.go hold the texts. Tests fail when an ID
// lacks a language, when the languages disagree on a {placeholder}, or when
// a template asks for an ID that does not exist.
//
// Texts are plain strings with {name} placeholders. T never escapes: the
// result goes through html/template (or encoding/json), which escapes for
// its context, so an argument such as a username cannot inject markup.
//
// Language negotiation is a small parser of our own rather than
// golang.org/x/text/language: with two languages, matching the primary
// subtag ("zh-*" or "en-*") is the whole job, and a sixty-line parser
// tested with q-values and malformed headers (plus a fuzz test) costs no
// dependency.
package i18n
