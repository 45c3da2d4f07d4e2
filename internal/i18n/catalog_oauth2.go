package i18n

// oauth2Messages: the page shown when an application's authorization
// request cannot be answered at its redirect URI. The user cannot fix it,
// so each message names the parameter at fault and what the
// administrator must change, and the page adds the request ID to report.
var oauth2Messages = map[string]entry{
	OAuth2RequestTitle: {en: "The application's sign-in request is not valid", zh: "应用的登录请求无效"},
	OAuth2RequestMalformed: {en: "The authorization request is malformed: its form could not be read.",
		zh: "授权请求格式错误：无法读取其表单。"},
	OAuth2ClientIDMissing: {en: "The request has no client_id, so it is not known which application is asking. The application must send the client ID of its provider.",
		zh: "请求中缺少 client_id，无法确定是哪个应用发起的请求。应用必须发送其提供者的客户端 ID。"},
	OAuth2UnknownClient: {en: "No application has the client ID {client_id}. An administrator must configure the application with the client ID of its OAuth2 provider.",
		zh: "没有应用使用客户端 ID {client_id}。管理员必须为该应用配置其 OAuth2 提供者的客户端 ID。"},
	OAuth2RedirectURIMissing: {en: "The request has no redirect_uri, and {app} does not have exactly one strict redirect URI to use instead. The application must send redirect_uri, and an administrator must register it for {app}.",
		zh: "请求中缺少 redirect_uri，而 {app} 没有唯一一个可代替使用的严格匹配重定向 URI。应用必须发送 redirect_uri，且管理员必须为 {app} 注册该地址。"},
	OAuth2RedirectURIWrong: {en: "The redirect URI {redirect_uri} is not registered for {app}. An administrator must add it, exactly as shown, to the redirect URIs of the application's provider.",
		zh: "重定向 URI {redirect_uri} 未在 {app} 中注册。管理员必须将其原样添加到该应用提供者的重定向 URI 列表中。"},
	OAuth2RequestURIForeign: {en: "The request_uri was not issued by this server. Only request URIs from the pushed authorization request endpoint (/application/o/par/) are accepted: the application must push its request there first, or send the parameters themselves.",
		zh: "该 request_uri 不是本服务器签发的。只接受推送授权请求端点（/application/o/par/）签发的 request URI：应用必须先将请求推送到该端点，或直接发送请求参数。"},
	OAuth2RequestURIInvalid: {en: "The pushed authorization request (request_uri) has expired, was already used, or belongs to another application. Start the sign-in again from the application.",
		zh: "推送的授权请求（request_uri）已过期、已被使用，或属于其他应用。请从应用重新开始登录。"},
	OAuth2AccessDenied: {en: "You do not have access to this application.", zh: "您无权访问此应用。"},
}
