package oauth2

// moreGrants lists the grants beyond authorization_code and refresh_token;
// each grant family lives in its own file and contributes its handlers.
func (s *Service) moreGrants() map[string]grantHandler {
	out := map[string]grantHandler{}
	for _, m := range []map[string]grantHandler{s.clientGrants(), s.deviceGrants()} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
