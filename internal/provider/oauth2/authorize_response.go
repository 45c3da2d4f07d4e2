package oauth2

import (
	"net/http"
	"net/url"
)

// How an authorization response reaches the client: a redirect with the
// parameters in the query or fragment, or a form_post page.

// redirectWith sends params to the client by the request's response mode.
func (s *Service) redirectWith(w http.ResponseWriter, r *http.Request, ar *authRequest, params url.Values) {
	if ar.State != "" {
		params.Set("state", ar.State)
	}
	to, form := responseTarget(ar, params)
	if form != nil {
		s.writeFormPost(w, r, ar.RedirectURI, form)
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// responseTarget builds the redirect (query or fragment) or, for
// form_post, the form fields.
func responseTarget(ar *authRequest, params url.Values) (string, map[string]string) {
	if ar.ResponseMode == "form_post" {
		form := map[string]string{}
		for k := range params {
			form[k] = params.Get(k)
		}
		return "", form
	}
	u, _ := url.Parse(ar.RedirectURI)
	if ar.ResponseMode == "fragment" {
		u.Fragment = ""
		return u.String() + "#" + params.Encode(), nil
	}
	q := u.Query()
	for k := range params {
		q.Set(k, params.Get(k))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (s *Service) redirectError(w http.ResponseWriter, r *http.Request, ar *authRequest, e *Error) {
	p := url.Values{"error": {e.Code}}
	if e.Description != "" {
		p.Set("error_description", e.Description)
	}
	s.redirectWith(w, r, ar, p)
}
