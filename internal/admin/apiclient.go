package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/api"
)

// result is the API's answer to one request.
type result struct {
	Status  int
	Body    []byte
	ETag    string
	Problem problem
}

// problem is the API's RFC 9457 body.
type problem struct {
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	Errors    []fieldError `json:"errors"`
	RequestID string       `json:"request_id"`
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (r result) ok() bool { return r.Status >= 200 && r.Status < 300 }

// call sends one request to the API as the console's user. body is
// encoded as JSON unless nil.
func (rq *req) call(method, path string, body any, header ...string) result {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return result{Status: http.StatusBadRequest, Problem: problem{Detail: err.Error()}}
		}
	}
	resp := rq.h.o.API.Do(rq.r, rq.c.CSRFToken(), method, path, raw, header...)
	res := result{Status: resp.Status, Body: resp.Body, ETag: resp.Header.Get("ETag")}
	if !res.ok() {
		json.Unmarshal(resp.Body, &res.Problem)
	}
	return res
}

// object is a decoded JSON object; numbers stay json.Number so whole
// numbers print as written.
type object map[string]any

func decodeObject(b []byte) (object, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var o object
	err := d.Decode(&o)
	return o, err
}

// page is one page of a list.
type page struct {
	Pagination api.Pagination `json:"pagination"`
	Results    []object       `json:"results"`
}

// get reads one object; ok is false after the failure page was written.
func (rq *req) get(path string) (object, string, bool) {
	res := rq.call(http.MethodGet, path, nil)
	if !res.ok() {
		rq.apiFailed(res)
		return nil, "", false
	}
	o, err := decodeObject(res.Body)
	if err != nil {
		rq.internalError(err)
		return nil, "", false
	}
	return o, res.ETag, true
}

// tryList reads a page of a list and leaves failures to the caller.
func (rq *req) tryList(path string, q url.Values) (*page, result) {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	res := rq.call(http.MethodGet, path, nil)
	if !res.ok() {
		return nil, res
	}
	d := json.NewDecoder(bytes.NewReader(res.Body))
	d.UseNumber()
	var p page
	if err := d.Decode(&p); err != nil {
		return nil, result{Status: http.StatusInternalServerError}
	}
	return &p, res
}

// count is the size of a list, or -1 when the caller may not see it.
func (rq *req) count(path string, q url.Values) int {
	if q == nil {
		q = url.Values{}
	}
	q.Set("page_size", "1")
	p, res := rq.tryList(path, q)
	if !res.ok() {
		return -1
	}
	return p.Pagination.Count
}

// apiFailed shows the page for a failed API request.
func (rq *req) apiFailed(res result) {
	switch res.Status {
	case http.StatusUnauthorized:
		http.Redirect(rq.w, rq.r, loginURL(rq.r.URL.RequestURI()), http.StatusFound)
	case http.StatusForbidden:
		rq.forbidden(res)
	case http.StatusNotFound:
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
	case http.StatusBadRequest, http.StatusConflict, http.StatusPreconditionFailed:
		rq.fail(http.StatusBadRequest, "admin.error.rejected", map[string]any{"detail": apiMessage(rq.lang, res.Problem.Detail)})
	default:
		rq.fail(http.StatusInternalServerError, "admin.error.internal", nil)
	}
}

// forbidden is the 403 page for something the API refused.
func (rq *req) forbidden(res result) {
	v := rq.view(rq.t("admin.error.title.forbidden", nil))
	v.Page = errorPage{Status: http.StatusForbidden, Message: rq.t("admin.error.forbidden", nil),
		Detail: apiMessage(rq.lang, res.Problem.Detail), RequestID: res.Problem.RequestID}
	rq.render(http.StatusForbidden, "error", v)
}

// str reads a field of an object as text.
func (o object) str(name string) string {
	switch v := o[name].(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// id is the object's ID: "pk", or "uuid" and "tenant_uuid" where the API
// names it so (sessions, tenants).
func (o object) id() string {
	for _, k := range []string{"pk", "uuid", "tenant_uuid"} {
		if s := o.str(k); isID(s) {
			return s
		}
	}
	return ""
}

// label is what names an object in lists and links.
func (o object) label() string {
	if _, isFlow := o["designation"]; isFlow && o.str("slug") != "" {
		return o.str("slug") // flows are known by their slugs
	}
	for _, k := range []string{"username", "name", "title", "slug", "identifier", "domain", "kid", "action"} {
		if s := o.str(k); s != "" {
			return s
		}
	}
	return o.id()
}
