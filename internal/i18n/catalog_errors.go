package i18n

// errorMessages: the codes stages and handlers report. The English is the
// text the stage sends with the code, word for word, so Message can tell a
// stock text from a policy's own one.
var errorMessages = map[string]entry{
	PromptFieldRequired:     {en: "This field is required.", zh: "此项为必填项。"},
	PromptPasswordsMismatch: {en: "Passwords don't match.", zh: "两次输入的密码不一致。"},
	PromptTooLong:           {en: "This value is too long.", zh: "输入内容过长。"},
	PromptInvalidEmail:      {en: "Enter a valid email address.", zh: "请输入有效的邮箱地址。"},
	PromptInvalidUsername: {en: "Enter a valid username: letters, digits and @ . + - _ only.",
		zh: "请输入有效的用户名：只能包含字母、数字和 @ . + - _。"},
	PromptUsernameTaken: {en: "This username is already taken.", zh: "该用户名已被占用。"},
	PromptUsernameScripts: {en: "Use the letters of one script: this username mixes scripts (such as Latin and Cyrillic).",
		zh: "请只使用一种文字的字母：该用户名混用了多种文字（例如拉丁字母和西里尔字母）。"},
	// Says no more than that the address is taken: not by whom.
	PromptEmailTaken:    {en: "This email address is already in use.", zh: "该邮箱地址已被使用。"},
	PromptInvalidNumber: {en: "Enter a number.", zh: "请输入数字。"},
	PromptInvalidDate:   {en: "Enter a valid date.", zh: "请输入有效的日期。"},
	PromptInvalidChoice: {en: "Select a valid choice.", zh: "请选择有效的选项。"},
	// A validation policy's messages arrive under this code.
	PromptPolicyFailed: {en: "The values you entered are not allowed.", zh: "您输入的内容不符合要求。", free: true},

	// Deliberately the same whether the user exists or not.
	PasswordInvalid: {en: "Invalid username or password.", zh: "用户名或密码错误。"},
	PasswordRateLimited: {en: "Too many attempts, please try again in {seconds} seconds.",
		enOne: "Too many attempts, please try again in {seconds} second.", count: "seconds",
		zh: "尝试次数过多，请在 {seconds} 秒后重试。"},
	PasswordTooManyAttempts: {en: "Too many failed attempts.", zh: "失败次数过多。"},
	IdentificationFailed:    {en: "Failed to authenticate.", zh: "身份验证失败。"},
	EmailTooMany:            {en: "Too many emails sent, please try again later.", zh: "邮件发送次数过多，请稍后再试。"},
	UserWriteNoUser:         {en: "No user to update.", zh: "没有可更新的用户。"},
	UserWriteConflict:       {en: "Failed to save the user: that value is already in use.", zh: "保存用户失败：该值已被使用。", free: true},
	UserWriteInvalid:        {en: "Failed to save the user.", zh: "保存用户失败。", free: true},

	// Said alike for every account, before any is looked up.
	EmailUnavailable: {en: "The email could not be sent. Please contact your administrator.", zh: "邮件无法发送。请联系管理员。"},

	FlowSessionExpired: {en: "Your session expired, please try again.", zh: "会话已过期，请重试。"},
	// Policies that deny a flow may say why in their own words.
	FlowNotApplicable:           {en: "You are not allowed to use this flow.", zh: "您无权使用此流程。", free: true},
	FlowNotFound:                {en: "Flow not found.", zh: "流程不存在。"},
	FlowEmpty:                   {en: "This flow has no stages that apply to you.", zh: "此流程中没有适用于您的阶段。"},
	FlowNotLinked:               {en: "This flow is not enabled.", zh: "此流程尚未启用。"},
	FlowRequiresUnauthenticated: {en: "You are already logged in.", zh: "您已登录。"},

	// The seed's wording, without a full stop, as Authentik shows it.
	IfaceInternalOnly: {en: "Interface can only be accessed by internal users", zh: "只有内部用户才能访问此界面。"},
	IfaceAdminOnly:    {en: "You need administrator rights to open the admin interface.", zh: "您需要管理员权限才能打开管理后台。"},

	InvitationRequired: {en: "This flow requires an invitation.", zh: "此流程需要邀请才能使用。"},
	InvitationInvalid:  {en: "This invitation is invalid or has expired.", zh: "邀请无效或已过期。"},
	InvitationExpired:  {en: "This invitation has expired.", zh: "邀请已过期。"},
	LinkInvalid:        {en: "This link is invalid or has expired.", zh: "链接无效或已过期。"},
	ConsentDenied:      {en: "You denied access to the application.", zh: "您已拒绝该应用的访问请求。"},
}
