package i18n

// knownTexts translates the English texts that the default blueprints put
// in admin-editable fields (flow titles, prompt labels and placeholders, a
// password policy's error_message). They are data, not message IDs, but a
// fresh install shows them on every login and sign-up page, and a Chinese
// user should not meet English there. An admin who edits one gets their
// own words shown as written.
var knownTexts = map[string]string{
	"Welcome to gatehouse!":       "欢迎使用 gatehouse！",
	"Reset your password":         "重置密码",
	"Update your info":            "更新个人信息",
	"Default Invalidation Flow":   "退出登录",
	"Username":                    "用户名",
	"Name":                        "姓名",
	"Email":                       "邮箱",
	"Admin email":                 "管理员邮箱",
	"Password":                    "密码",
	"Password (repeat)":           "确认密码",
	"Set the password of akadmin": "设置 akadmin 的密码",
	"Log in":                      "登录",
	"Continue":                    "继续",
	"The password must be at least 8 characters long.": "密码长度至少为 8 个字符。",
}

// Known returns s in language l when s is one of the texts the default
// blueprints ship, else s unchanged.
func Known(l Lang, s string) string {
	if l == ZhHans {
		if zh, ok := knownTexts[s]; ok {
			return zh
		}
	}
	return s
}
