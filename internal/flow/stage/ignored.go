package stage

// Authentik settings of these stages that gatehouse accepts but does not
// act on (flow.IgnoredSettings). Blueprints exported from Authentik carry
// them, so refusing them would refuse those blueprints; any other name a
// stage does not know is refused (flow.Executor.ValidateStage), so that a
// misspelt setting is not stored with no effect. docs/stages.md lists them.

func (*identification) IgnoredSettings() []string {
	return []string{"captcha_stage", "webauthn_stage", "sources", "show_source_labels"}
}

func (*password) IgnoredSettings() []string { return []string{"configure_flow"} }

func (*email) IgnoredSettings() []string {
	return []string{"host", "port", "username", "password", "use_tls", "use_ssl", "timeout", "from_address",
		"recovery_cache_timeout"}
}

func (*userLogin) IgnoredSettings() []string {
	return []string{"network_binding", "geoip_binding", "remember_device"}
}
