package i18n

// deviceMessages: the device login page. The user reads them on a phone
// or computer while a television or a command line waits for them, so
// they say where the code comes from and what happens next.
var deviceMessages = map[string]entry{
	DeviceTitle:     {en: "Sign in on a device", zh: "在设备上登录"},
	DeviceEnter:     {en: "Enter the code shown on your device.", zh: "请输入设备上显示的代码。"},
	DeviceCodeLabel: {en: "Code", zh: "代码"},
	DeviceConfirm: {en: "{app} asks to sign in with your account on a device. Check that the device shows this code:",
		zh: "{app} 请求在一台设备上使用您的账号登录。请确认该设备上显示的代码与下面一致："},
	DeviceConfirmHint: {en: "Allow only if you started this sign-in yourself, on a device in front of you. Nobody needs this code to help you.",
		zh: "只有当这次登录是您本人在眼前的设备上发起的，才可以允许。任何人都不需要通过这个代码来帮助您。"},
	DeviceApproved: {en: "Your device is now signed in to {app}.", zh: "您的设备已登录 {app}。"},
	DeviceDenied:   {en: "You denied {app} access to your account.", zh: "您已拒绝 {app} 访问您的账号。"},
	DeviceClose:    {en: "You can close this page and go back to your device.", zh: "您可以关闭此页面，返回您的设备。"},

	// One message for unknown, expired and used codes: which of them it
	// was would help only someone guessing codes.
	DeviceCodeInvalid: {en: "This code is not valid: it may have expired or been used already. Check the code on your device, or start again there.",
		zh: "该代码无效：可能已过期或已被使用。请核对设备上显示的代码，或在设备上重新开始。"},
	DeviceTooManyAttempts: {en: "Too many codes tried, please wait a minute and try again.", zh: "尝试的代码过多，请稍等一分钟后再试。"},
}
