package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

type systemPage struct {
	Fields []detailField
	Jobs   []jobRow
	Total  jobRow
}

type jobRow struct {
	Kind                           string
	Pending, Running, Done, Failed string
}

// system shows admin/system/: version, database, the job queue and, when
// the API reports it, this server's number of job workers.
func (h *Handler) system(rq *req) {
	r := rq.call(http.MethodGet, "admin/system/", nil)
	if !r.ok() {
		rq.apiFailed(r)
		return
	}
	var info struct {
		Version    string    `json:"version"`
		Revision   string    `json:"revision"`
		GoVersion  string    `json:"go_version"`
		Platform   string    `json:"platform"`
		Database   string    `json:"database"`
		ServerTime time.Time `json:"server_time"`
		StartedAt  time.Time `json:"started_at"`
		Workers    int       `json:"workers"`
		Jobs       []struct {
			Kind                           string
			Pending, Running, Done, Failed int
		} `json:"jobs"`
	}
	if err := json.Unmarshal(r.Body, &info); err != nil {
		rq.internalError(err)
		return
	}
	sp := systemPage{}
	add := func(id, text string, mono bool) {
		if text == "" {
			text = "—"
		}
		sp.Fields = append(sp.Fields, detailField{Label: rq.t(id, nil), Text: text, Mono: mono})
	}
	add("admin.system.version", info.Version, true)
	add("admin.system.revision", info.Revision, true)
	add("admin.system.go", info.GoVersion, true)
	add("admin.system.platform", info.Platform, true)
	add("admin.system.database", enumLabel(rq.lang, info.Database), false)
	add("admin.system.server_time", info.ServerTime.UTC().Format("2006-01-02 15:04:05 UTC"), false)
	add("admin.system.uptime", info.ServerTime.Sub(info.StartedAt).Round(time.Second).String(), true)
	add("admin.system.workers", strconv.Itoa(info.Workers), false)
	var total [4]int
	for _, j := range info.Jobs {
		sp.Jobs = append(sp.Jobs, jobRow{Kind: j.Kind, Pending: strconv.Itoa(j.Pending), Running: strconv.Itoa(j.Running),
			Done: strconv.Itoa(j.Done), Failed: strconv.Itoa(j.Failed)})
		total[0] += j.Pending
		total[1] += j.Running
		total[2] += j.Done
		total[3] += j.Failed
	}
	sp.Total = jobRow{Kind: rq.t("admin.system.jobs_total", nil), Pending: strconv.Itoa(total[0]), Running: strconv.Itoa(total[1]),
		Done: strconv.Itoa(total[2]), Failed: strconv.Itoa(total[3])}
	v := rq.view(rq.t("admin.system.title", nil))
	v.Page = sp
	rq.render(http.StatusOK, "system", v)
}
