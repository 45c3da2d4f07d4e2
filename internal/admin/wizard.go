package admin

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
)

// The wizard creates an application with an OAuth2/OpenID Connect
// provider in one form, and then shows what the application's developer
// must copy: client ID, client secret and issuer (the seed walkthrough's
// "record the Client ID and Client Secret" and "find the Issuer").
//
// It goes through the API: providers/oauth2/ (which fills in the
// tenant's default flows, signing key and scope mappings, as the
// product's CreateOAuth2App does), then core/applications/; when the
// application is refused, the provider just made is deleted again, so a
// mistake leaves nothing behind. The secret is then read from
// providers/oauth2/{id}/secret/, which records a secret_view event.

// NewOAuth2App is what the wizard asks for.
type NewOAuth2App struct {
	Name, Slug, LaunchURL  string
	ClientType             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
}

// Permissions the wizard's writes need.
const (
	PermAddApplication = "authentik_core.add_application"
	PermAddOAuth2      = "authentik_providers_oauth2.add_oauth2provider"
)

type wizardDone struct {
	Name                   string
	AppURL                 string
	ClientID, ClientSecret string
	Issuer, Discovery      string
	RedirectURIs           []string
	Public                 bool
	SecretHidden           bool // the caller may not view secrets
}

var wizardFields = []api.FieldInfo{
	{Name: "name", Kind: api.KindString},
	{Name: "slug", Kind: api.KindString},
	{Name: "meta_launch_url", Kind: api.KindString},
	{Name: "client_type", Kind: api.KindString, Enum: []string{"confidential", "public"}},
	{Name: "redirect_uris", Kind: api.KindStringList},
	{Name: "post_logout_redirect_uris", Kind: api.KindStringList},
}

func (h *Handler) wizard(rq *req) {
	if h.oauth2API() == nil {
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
		return
	}
	if !rq.c.Can(PermAddApplication) || !rq.c.Can(PermAddOAuth2) {
		need := PermAddApplication
		if rq.c.Can(PermAddApplication) {
			need = PermAddOAuth2
		}
		rq.forbidden(result{Problem: problem{Detail: "you do not have permission to perform this action (needs " + need + ")"}})
		return
	}
	values := map[string]string{"client_type": "confidential"}
	errs := map[string][]string{}
	var alerts []string
	status := http.StatusOK
	if rq.r.Method == http.MethodPost {
		for _, f := range wizardFields {
			values[f.Name] = rq.r.PostForm.Get(f.Name)
		}
		n := NewOAuth2App{Name: strings.TrimSpace(values["name"]), Slug: strings.TrimSpace(values["slug"]),
			LaunchURL: strings.TrimSpace(values["meta_launch_url"]), ClientType: values["client_type"]}
		v, _, _ := parseValue(wizardFields[4], values["redirect_uris"])
		n.RedirectURIs = v.([]string)
		v, _, _ = parseValue(wizardFields[5], values["post_logout_redirect_uris"])
		n.PostLogoutRedirectURIs = v.([]string)
		for _, k := range []string{"name", "slug"} {
			if values[k] == "" {
				errs[k] = append(errs[k], rq.t("admin.api.required", nil))
			}
		}
		if len(errs) == 0 {
			done, fe, st := h.wizardAPI(rq, n)
			status = st
			if done != nil {
				v := rq.view(rq.t("admin.wizard.done_title", map[string]any{"name": n.Name}))
				v.Page = *done
				rq.render(http.StatusOK, "wizard-done", v)
				return
			}
			if status == 0 {
				return // a failure page was written
			}
			names := []string{}
			for _, f := range wizardFields {
				names = append(names, f.Name)
			}
			for _, e := range fe {
				field := e.Field
				if strings.HasPrefix(field, "redirect_uris") {
					field = "redirect_uris"
				}
				if slices.Contains(names, field) {
					errs[field] = append(errs[field], apiMessage(rq.lang, e.Message))
				} else {
					alerts = append(alerts, fieldLabel(rq.lang, e.Field)+": "+apiMessage(rq.lang, e.Message))
				}
			}
		} else {
			status = http.StatusBadRequest
		}
	}
	fp := formPage{Action: rq.r.URL.Path, Submit: rq.t("admin.wizard.submit", nil), CancelURL: Prefix + "core/applications/",
		Intro: rq.t("admin.wizard.intro", nil)}
	focused := false
	for _, f := range wizardFields {
		ff := rq.fieldCtl(nil, f, values[f.Name], f.Name == "name" || f.Name == "slug" || f.Name == "client_type", nil)
		ff.Errors = errs[f.Name]
		if id := "admin.wizard.help." + f.Name; hasAdmin(id) {
			ff.Help = rq.t(id, nil)
		}
		if f.Name == "meta_launch_url" {
			ff.Type = "url"
		}
		if (len(ff.Errors) > 0 || rq.r.Method == http.MethodGet) && !focused {
			ff.Autofocus, focused = true, true
		}
		fp.Fields = append(fp.Fields, ff)
	}
	v := rq.view(rq.t("admin.wizard.title", nil))
	v.Alerts = alerts
	if len(errs) > 0 && len(alerts) == 0 {
		v.Alerts = []string{rq.t("admin.form.fix_errors", nil)}
	}
	v.Page = fp
	rq.render(status, "form", v)
}

// oauth2API is the API's OAuth2 provider resource, if it has one.
func (h *Handler) oauth2API() *api.ResourceInfo {
	if r, ok := h.resource("providers/oauth2/"); ok && r.Create {
		return r
	}
	return nil
}

// wizardAPI creates the provider and then the application through the
// API; when the application is refused, the provider is deleted again.
// status 0 means a failure page was written.
func (h *Handler) wizardAPI(rq *req, n NewOAuth2App) (*wizardDone, []fieldError, int) {
	pr := h.oauth2API()
	body := map[string]any{"name": n.Name}
	in := map[string]api.FieldInfo{}
	for _, f := range pr.In {
		in[f.Name] = f
	}
	if _, ok := in["client_type"]; ok {
		body["client_type"] = n.ClientType
	}
	if f, ok := in["redirect_uris"]; ok {
		if f.Kind == api.KindStringList {
			body["redirect_uris"] = n.RedirectURIs
		} else {
			uris := []map[string]any{}
			for _, u := range n.RedirectURIs {
				uris = append(uris, map[string]any{"matching_mode": "strict", "url": u})
			}
			for _, u := range n.PostLogoutRedirectURIs {
				uris = append(uris, map[string]any{"matching_mode": "strict", "url": u, "redirect_uri_type": "logout"})
			}
			body["redirect_uris"] = uris
		}
	}
	for _, k := range []string{"authorization_flow", "invalidation_flow"} {
		if _, ok := in[k]; ok && slices.Contains(pr.Required, k) {
			if id := rq.defaultFlow(strings.TrimSuffix(k, "_flow")); id != "" {
				body[k] = id
			}
		}
	}
	r := rq.call(http.MethodPost, pr.Path, body)
	if !r.ok() {
		if r.Status == http.StatusBadRequest || r.Status == http.StatusConflict {
			return nil, r.Problem.Errors, r.Status
		}
		rq.apiFailed(r)
		return nil, nil, 0
	}
	p, err := decodeObject(r.Body)
	if err != nil {
		rq.internalError(err)
		return nil, nil, 0
	}
	a := rq.call(http.MethodPost, "core/applications/", map[string]any{"name": n.Name, "slug": n.Slug,
		"meta_launch_url": n.LaunchURL, "provider": p.str("pk")})
	if !a.ok() {
		rq.call(http.MethodDelete, pr.Path+p.str("pk")+"/", nil)
		if a.Status == http.StatusBadRequest || a.Status == http.StatusConflict {
			return nil, a.Problem.Errors, a.Status
		}
		rq.apiFailed(a)
		return nil, nil, 0
	}
	app, _ := decodeObject(a.Body)
	issuer := oauth2.Issuer(h.baseURL(rq.r), app.str("slug"), p.str("issuer_mode"))
	done := &wizardDone{Name: n.Name, AppURL: Prefix + "core/applications/" + app.str("pk") + "/", ClientID: p.str("client_id"),
		Issuer: issuer, Discovery: issuer + ".well-known/openid-configuration", RedirectURIs: n.RedirectURIs,
		Public: n.ClientType == "public"}
	if !done.Public {
		if s := rq.call(http.MethodGet, pr.Path+p.str("pk")+"/secret/", nil); s.ok() {
			o, _ := decodeObject(s.Body)
			done.ClientSecret = o.str("client_secret")
		} else {
			done.SecretHidden = true
		}
	}
	return done, nil, http.StatusOK
}

// defaultFlow finds the tenant's default flow of a designation.
func (rq *req) defaultFlow(designation string) string {
	p, r := rq.tryList("flows/instances/", url.Values{"designation": {designation}, "page_size": {"100"}})
	if !r.ok() || len(p.Results) == 0 {
		return ""
	}
	for _, f := range p.Results {
		if strings.HasPrefix(f.str("slug"), "default-") {
			return f.str("pk")
		}
	}
	return p.Results[0].str("pk")
}

// canWizard reports whether the wizard can run for the caller.
func (rq *req) canWizard() bool {
	_, apps := rq.h.resource("core/applications/")
	return apps && rq.h.oauth2API() != nil && rq.c.Can(PermAddApplication) && rq.c.Can(PermAddOAuth2)
}
