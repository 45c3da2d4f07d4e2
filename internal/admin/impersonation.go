package admin

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// endImpersonation is the target of the banner an impersonating admin
// sees: it ends the impersonation through the API (which records
// impersonation_ended) and returns to the console's users. It sits
// outside the console's access check, since the session acts as the
// impersonated user, who usually may not open the console.
func (h *Handler) endImpersonation(w http.ResponseWriter, r *http.Request) {
	rq := &req{h: h, w: w, r: r, lang: httpx.Lang(r)}
	c, err := h.o.API.SessionCaller(r.Context(), w, r)
	switch {
	case errors.Is(err, api.ErrUnauthenticated):
		http.Redirect(w, r, loginURL(Prefix), http.StatusFound)
		return
	case err != nil:
		rq.internalError(err)
		return
	}
	rq.c = c
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || !c.CheckCSRF(r.PostForm.Get("csrf_token")) {
		h.o.Web.Page(w, r, rq.lang, http.StatusForbidden, web.PageForbidden, map[string]any{
			"MessageCode": "admin.error.csrf", "Message": "This form has expired. Go back, reload the page and try again."})
		return
	}
	if res := rq.call(http.MethodGet, "core/users/impersonate_end/", nil); !res.ok() {
		rq.internalError(errors.New("admin: impersonate_end: " + res.Problem.Detail))
		return
	}
	http.Redirect(w, r, Prefix+"core/users/", http.StatusSeeOther)
}
