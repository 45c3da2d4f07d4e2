package i18n

// The Chinese follows the words Chinese users of Authentik already read
// (登录, 注册, 忘记密码, 用户名, 密码, 应用, 提供者, 流程, 阶段, 策略), addresses
// the user as 您, and uses full-width punctuation.

// uiMessages: buttons, links, field labels and the page frame.
var uiMessages = map[string]entry{
	ActionContinue:       {en: "Continue", zh: "继续"},
	ActionLogIn:          {en: "Log in", zh: "登录"},
	ActionSignUp:         {en: "Sign up", zh: "注册"},
	ActionForgotPassword: {en: "Forgot password?", zh: "忘记密码？"},
	ActionBack:           {en: "Back", zh: "返回"},
	ActionCancel:         {en: "Cancel", zh: "取消"},
	ActionLogOut:         {en: "Log out", zh: "退出登录"},
	ActionAllow:          {en: "Allow", zh: "允许"},
	ActionDeny:           {en: "Deny", zh: "拒绝"},
	ActionYes:            {en: "Yes", zh: "是"},
	ActionNo:             {en: "No", zh: "否"},
	ActionTryAgain:       {en: "Try again", zh: "重试"},
	ActionSendAgain:      {en: "Send the email again", zh: "重新发送邮件"},
	ActionSecurityKey:    {en: "Use a security key", zh: "使用安全密钥"},
	ActionShowPassword:   {en: "Show password", zh: "显示密码"},

	FieldUsername:        {en: "Username", zh: "用户名"},
	FieldEmail:           {en: "Email", zh: "邮箱"},
	FieldUPN:             {en: "UPN", zh: "UPN（用户主体名称）"},
	FieldUsernameOrEmail: {en: "Username or email", zh: "用户名或邮箱"},
	FieldEither:          {en: "{a} or {b}", zh: "{a}或{b}"},
	FieldPassword:        {en: "Password", zh: "密码"},
	FieldPasswordRepeat:  {en: "Repeat password", zh: "确认密码"},
	FieldName:            {en: "Name", zh: "姓名"},
	FieldChoose:          {en: "Select an option", zh: "请选择"},

	UIBrand:        {en: "gatehouse", zh: "gatehouse"},
	UILanguage:     {en: "Language", zh: "语言"},
	UINotYou:       {en: "Not you?", zh: "不是您？"},
	UIStaySignedIn: {en: "Stay signed in", zh: "保持登录"},
	UIAccessDenied: {en: "Access denied", zh: "访问被拒绝"},
	UIRequestID:    {en: "Request ID", zh: "请求 ID"},
	UIPoweredBy:    {en: "Powered by gatehouse", zh: "由 gatehouse 提供技术支持"},
	UILoggedInAs:   {en: "Logged in as {user}", zh: "当前登录用户：{user}"},
	UIImpersonating: {en: "{admin}, you are acting as {user}. Everything you do is recorded as done by {user} on your behalf.",
		zh: "{admin}，您正在以 {user} 的身份操作。您的所有操作都会记录为您代表 {user} 所做。"},
	UIImpersonationEnd: {en: "End impersonation", zh: "结束模拟登录"},
	UIRedirecting:      {en: "Redirecting…", zh: "正在跳转…"},
	UIRequired:         {en: "required", zh: "必填"},
	UIErrorSummary:     {en: "Please correct the errors below.", zh: "请修正以下错误。"},
}

// flowMessages: the text of each stage's page and of the simple pages.
var flowMessages = map[string]entry{
	FlowIdentificationTitle:       {en: "Log in", zh: "登录"},
	FlowIdentificationAppPre:      {en: "Log in to continue to {app}.", zh: "登录以继续访问 {app}。"},
	FlowIdentificationNeedAccount: {en: "Need an account?", zh: "还没有账号？"},
	FlowPasswordTitle:             {en: "Enter your password", zh: "输入密码"},
	FlowPromptTitle:               {en: "Enter your details", zh: "填写信息"},
	FlowEmailTitle:                {en: "Check your email", zh: "查收邮件"},
	FlowEmailSent:                 {en: "Check your email: we sent a link to {address}.", zh: "请查收邮件：我们已向 {address} 发送了一个链接。"},
	FlowEmailSentGeneric: {en: "Check your email: if the account has an email address, we sent a link to it.",
		zh: "请查收邮件：如果该账号绑定了邮箱，我们已向其发送了一个链接。"},
	FlowEmailHint: {en: "Open the link to continue. It works once and expires soon; if you don't see the email, check your spam folder.",
		zh: "打开链接即可继续。链接只能使用一次，且很快会失效；如果没有收到邮件，请检查垃圾邮件文件夹。"},
	FlowConsentTitle:          {en: "Authorize application", zh: "授权应用"},
	FlowConsentHeader:         {en: "{app} would like to access:", zh: "{app} 请求访问以下信息："},
	FlowConsentHeaderDefault:  {en: "The application would like to access your account.", zh: "该应用请求访问您的账号。"},
	FlowConsentAlreadyAllowed: {en: "You already allowed:", zh: "您此前已授权："},
	FlowConsentAdditional:     {en: "It now also asks for:", zh: "现在还请求以下权限："},
	FlowUserLoginTitle:        {en: "Stay signed in?", zh: "保持登录状态？"},
	FlowUserLoginBody:         {en: "Select Yes to be asked to log in less often on this device.", zh: "选择“是”，在此设备上就不必频繁登录。"},
	FlowAccessDeniedBody:      {en: "Request has been denied.", zh: "请求已被拒绝。"},
	FlowRedirectBody:          {en: "If nothing happens, follow this link to continue.", zh: "如果页面没有自动跳转，请点击下方链接继续。"},
	FlowAutosubmitBody: {en: "Taking you back to the application. If nothing happens, press Continue.",
		zh: "正在返回应用。如果页面没有自动跳转，请点击“继续”。"},
	FlowDummyBody:  {en: "Press Continue to go on.", zh: "请点击“继续”进行下一步。"},
	FlowErrorTitle: {en: "Something went wrong", zh: "出错了"},
	FlowErrorBody: {en: "An unexpected error occurred. Please try again; if it keeps happening, give your administrator the request ID below.",
		zh: "发生了意外错误，请重试。如果问题仍然存在，请将下方的请求 ID 提供给管理员。"},

	ScopeOpenID:        {en: "Verify your identity", zh: "验证您的身份"},
	ScopeProfile:       {en: "Your profile: name and username", zh: "您的基本资料：姓名和用户名"},
	ScopeEmail:         {en: "Your email address", zh: "您的邮箱地址"},
	ScopeOfflineAccess: {en: "Access your account when you are not using the application", zh: "在您不使用该应用时访问您的账号"},

	PageNotFound:        {en: "Page not found.", zh: "页面不存在。"},
	PageInterfaceUser:   {en: "The user interface is not available yet.", zh: "用户界面暂未开放。"},
	PageInterfaceExtern: {en: "You are logged in. Go back to the application you came from.", zh: "您已登录，请返回您之前使用的应用。"},
}
