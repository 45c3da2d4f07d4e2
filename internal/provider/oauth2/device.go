package oauth2

// deviceGrants is the device authorization grant (placeholder until implemented).
func (s *Service) deviceGrants() map[string]grantHandler { return map[string]grantHandler{} }
