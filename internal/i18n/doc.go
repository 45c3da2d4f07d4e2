// Package i18n holds the user interface's words, one file per language
// (locales/en.json, locales/zh-Hans.json), and picks a language for a
// request. A new language is a new file: its name, the language tags it
// answers to, and a text for every ID English has; loading refuses a file
// that lacks an ID or has one English does not.
//
// Every text has a stable message ID ("action.log_in",
// "stage.password.invalid"): stages put the ID in a challenge's error code,
// the HTML renderer and native clients translate by it, so the same
// challenge reads right in either language and in JSON. The IDs are
// constants in ids.go (the admin console's are plain strings); the
// locale files hold the texts. Tests fail when an ID
// lacks a language, when the languages disagree on a {placeholder}, or when
// a template asks for an ID that does not exist.
//
// The Chinese follows the words Chinese users of Authentik already read
// (登录, 注册, 忘记密码, 用户名, 密码, 应用, 提供者, 流程, 阶段, 策略), addresses
// the user as 您, and uses full-width punctuation.
//
// Texts are plain strings with {name} placeholders. T never escapes: the
// result goes through html/template (or encoding/json), which escapes for
// its context, so an argument such as a username cannot inject markup.
//
// Language negotiation is a small parser of our own rather than
// golang.org/x/text/language: matching the primary subtag ("zh-*" or
// "en-*") against the tags each locale file names is the whole job, and a sixty-line parser
// tested with q-values and malformed headers (plus a fuzz test) costs no
// dependency.
package i18n
