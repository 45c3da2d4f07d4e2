package i18n

// Message IDs. They are part of the JSON API (error codes, access-denied
// message codes) and of templates, so they never change meaning; add new
// ones instead. Every constant here must have a catalog entry in both
// languages (catalog_test.go checks).

// Actions: buttons and links.
const (
	ActionContinue       = "action.continue"
	ActionLogIn          = "action.log_in"
	ActionSignUp         = "action.sign_up"
	ActionForgotPassword = "action.forgot_password"
	ActionBack           = "action.back"
	ActionCancel         = "action.cancel"
	ActionLogOut         = "action.log_out"
	ActionStayLoggedIn   = "action.stay_logged_in"
	ActionAllow          = "action.allow"
	ActionDeny           = "action.deny"
	ActionYes            = "action.yes"
	ActionNo             = "action.no"
	ActionTryAgain       = "action.try_again"
	ActionSendAgain      = "action.send_again"
	ActionSecurityKey    = "action.use_security_key"
	ActionShowPassword   = "action.show_password"
)

// Field labels.
const (
	FieldUsername        = "field.username"
	FieldEmail           = "field.email"
	FieldUPN             = "field.upn"
	FieldUsernameOrEmail = "field.username_or_email"
	FieldEither          = "field.either" // args: a, b
	FieldPassword        = "field.password"
	FieldPasswordRepeat  = "field.password_repeat"
	FieldName            = "field.name"
	FieldChoose          = "field.choose"
)

// Words of the page frame.
const (
	UIBrand        = "ui.brand"
	UILanguage     = "ui.language"
	UINotYou       = "ui.not_you"
	UIStaySignedIn = "ui.stay_signed_in"
	UIAccessDenied = "ui.access_denied"
	UIRequestID    = "ui.request_id"
	UIPoweredBy    = "ui.powered_by"
	UILoggedInAs   = "ui.logged_in_as" // args: user
	// UIImpersonating is the banner while an admin acts as a user.
	UIImpersonating    = "ui.impersonating" // args: user, admin
	UIImpersonationEnd = "ui.impersonation_end"
	UIRedirecting      = "ui.redirecting"
	UIRequired         = "ui.required"
	UIErrorSummary     = "ui.error_summary"
)

// Flow pages, one group per stage.
const (
	FlowIdentificationTitle       = "flow.identification.title"
	FlowIdentificationAppPre      = "flow.identification.app_pre" // args: app
	FlowIdentificationNeedAccount = "flow.identification.need_account"
	FlowPasswordTitle             = "flow.password.title"
	FlowPromptTitle               = "flow.prompt.title"
	FlowEmailTitle                = "flow.email.title"
	FlowEmailSent                 = "flow.email.sent" // args: address
	FlowEmailSentGeneric          = "flow.email.sent_generic"
	FlowEmailHint                 = "flow.email.hint"
	FlowConsentTitle              = "flow.consent.title"
	FlowConsentHeader             = "flow.consent.header" // args: app
	FlowConsentHeaderDefault      = "flow.consent.header_default"
	FlowConsentAlreadyAllowed     = "flow.consent.already_allowed"
	FlowConsentAdditional         = "flow.consent.additional"
	FlowUserLoginTitle            = "flow.user_login.title"
	FlowUserLoginBody             = "flow.user_login.body"
	FlowLogoutTitle               = "flow.logout.title"
	FlowLogoutBody                = "flow.logout.body"
	FlowAccessDeniedBody          = "flow.access_denied.body"
	FlowRedirectBody              = "flow.redirect.body"
	FlowAutosubmitBody            = "flow.autosubmit.body"
	FlowDummyBody                 = "flow.dummy.body"
	FlowErrorTitle                = "flow.error.title"
	FlowErrorBody                 = "flow.error.body"
)

// Scope descriptions on the consent page, by scope name.
const (
	ScopeOpenID        = "consent.scope.openid"
	ScopeProfile       = "consent.scope.profile"
	ScopeEmail         = "consent.scope.email"
	ScopeOfflineAccess = "consent.scope.offline_access"
)

// Simple pages outside flows.
const (
	PageNotFound        = "page.error.not_found"
	PageInterfaceUser   = "page.interface.user"
	PageInterfaceExtern = "page.interface.external"
)

// Codes of problems, as stages put them in response_errors and
// access-denied challenges.
const (
	PromptFieldRequired     = "prompt.field_required"
	PromptPasswordsMismatch = "prompt.passwords_mismatch"
	PromptTooLong           = "prompt.too_long"
	PromptInvalidEmail      = "prompt.invalid_email"
	PromptInvalidUsername   = "prompt.invalid_username"
	PromptUsernameTaken     = "prompt.username_taken"
	PromptUsernameScripts   = "prompt.username_mixed_scripts"
	PromptEmailTaken        = "prompt.email_taken"
	PromptInvalidNumber     = "prompt.invalid_number"
	PromptInvalidDate       = "prompt.invalid_date"
	PromptInvalidChoice     = "prompt.invalid_choice"
	PromptPolicyFailed      = "prompt.policy_failed"

	PasswordInvalid         = "stage.password.invalid"
	PasswordRateLimited     = "stage.password.rate_limited"
	PasswordTooManyAttempts = "stage.password.too_many_attempts"
	IdentificationFailed    = "stage.identification.failed"
	EmailTooMany            = "stage.email.too_many"
	EmailUnavailable        = "stage.email.unavailable"
	UserWriteNoUser         = "stage.user_write.no_user"
	UserWriteConflict       = "stage.user_write.conflict"
	UserWriteInvalid        = "stage.user_write.invalid"

	FlowSessionExpired          = "flow.session_expired"
	FlowNotApplicable           = "flow.not_applicable"
	FlowNotFound                = "flow.not_found"
	FlowEmpty                   = "flow.empty"
	FlowNotLinked               = "flow.not_linked"
	FlowRequiresUnauthenticated = "flow.requires_unauthenticated"

	IfaceInternalOnly = "iface.internal_only"
	IfaceAdminOnly    = "iface.admin_only"

	InvitationRequired = "invitation.required"
	InvitationInvalid  = "invitation.invalid"
	InvitationExpired  = "invitation.expired"
	LinkInvalid        = "link.invalid"
	ConsentDenied      = "consent.denied"
)

// The device login page (/device, the OAuth 2.0 device authorization
// grant; docs/oauth2-device.md), and the problems it reports.
const (
	DeviceTitle       = "oauth2.device.title"
	DeviceEnter       = "oauth2.device.enter"
	DeviceCodeLabel   = "oauth2.device.code_label"
	DeviceConfirm     = "oauth2.device.confirm" // args: app
	DeviceConfirmHint = "oauth2.device.confirm_hint"
	DeviceApproved    = "oauth2.device.approved" // args: app
	DeviceDenied      = "oauth2.device.denied"   // args: app
	DeviceClose       = "oauth2.device.close"

	DeviceCodeInvalid     = "oauth2.device.code_invalid"
	DeviceTooManyAttempts = "oauth2.device.too_many_attempts"
)

// Authorization requests the OAuth2 provider cannot answer at the client's
// redirect URI (docs/oauth2.md, "Errors"): each says which parameter is
// wrong and what the administrator must register.
const (
	OAuth2RequestTitle       = "oauth2.request.title"
	OAuth2RequestMalformed   = "oauth2.invalid_request"
	OAuth2ClientIDMissing    = "oauth2.client_id_missing"
	OAuth2UnknownClient      = "oauth2.unknown_client"        // args: client_id
	OAuth2RedirectURIMissing = "oauth2.redirect_uri_missing"  // args: app
	OAuth2RedirectURIWrong   = "oauth2.redirect_uri_mismatch" // args: app, redirect_uri
	OAuth2RequestURIForeign  = "oauth2.request_uri_not_supported"
	OAuth2RequestURIInvalid  = "oauth2.invalid_request_uri"
	OAuth2AccessDenied       = "oauth2.access_denied"
)

// Password policy messages (internal/policy/pwpolicy, docs/password-policy.md).
const (
	PasswordTooShort       = "password.too_short"         // args: min, count
	PasswordTooFewDigits   = "password.too_few_digits"    // args: min, count
	PasswordTooFewUpper    = "password.too_few_uppercase" // args: min, count
	PasswordTooFewLower    = "password.too_few_lowercase" // args: min, count
	PasswordTooFewSymbols  = "password.too_few_symbols"   // args: min, count, charset
	PasswordCustom         = "password.custom"
	PasswordCommon         = "password.common"
	PasswordTooWeak        = "password.too_weak" // args: score, threshold
	PasswordTop10          = "password.feedback.top10"
	PasswordTop100         = "password.feedback.top100"
	PasswordVeryCommon     = "password.feedback.very_common"
	PasswordSimilarCommon  = "password.feedback.similar_to_common"
	PasswordWordByItself   = "password.feedback.word_by_itself"
	PasswordNamesAlone     = "password.feedback.names_by_themselves"
	PasswordCommonNames    = "password.feedback.common_names"
	PasswordUserInputs     = "password.feedback.user_inputs"
	PasswordStraightRows   = "password.feedback.straight_rows"
	PasswordKeyboard       = "password.feedback.keyboard_patterns"
	PasswordRepeatsSingle  = "password.feedback.repeats_single"
	PasswordRepeats        = "password.feedback.repeats"
	PasswordSequences      = "password.feedback.sequences"
	PasswordRecentYears    = "password.feedback.recent_years"
	PasswordDates          = "password.feedback.dates"
	PasswordUseWords       = "password.suggestion.use_words"
	PasswordNoNeedSymbols  = "password.suggestion.no_need_symbols"
	PasswordAddWord        = "password.suggestion.add_word"
	PasswordCapitalization = "password.suggestion.capitalization"
	PasswordAllUppercase   = "password.suggestion.all_uppercase"
	PasswordReversed       = "password.suggestion.reversed"
	PasswordL33t           = "password.suggestion.l33t"
	PasswordLongerKeyboard = "password.suggestion.longer_keyboard"
	PasswordAvoidRepeats   = "password.suggestion.avoid_repeats"
	PasswordAvoidSequences = "password.suggestion.avoid_sequences"
	PasswordAvoidRecent    = "password.suggestion.avoid_recent_years"
	PasswordAvoidAssocYrs  = "password.suggestion.avoid_associated_years"
	PasswordAvoidDates     = "password.suggestion.avoid_dates"
)
