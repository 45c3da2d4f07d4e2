package api

import (
	"context"
	"net/http"
	"runtime"
	"sort"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/version"
)

// SystemInfo is admin/system/ (Authentik's path): what is running, on
// which database, and how the job queue is doing.
type SystemInfo struct {
	Version    string    `json:"version"`
	Revision   string    `json:"revision" doc:"VCS commit of the build, when recorded"`
	GoVersion  string    `json:"go_version"`
	Platform   string    `json:"platform" doc:"operating system and architecture"`
	Database   string    `json:"database" enum:"sqlite,postgres"`
	ServerTime time.Time `json:"server_time"`
	StartedAt  time.Time `json:"started_at"`
	Workers    int       `json:"workers" doc:"job workers this server runs"`
	Jobs       []JobKind `json:"jobs" doc:"jobs of every tenant by kind, until retention deletes finished ones"`
}

// JobKind counts one kind of job by state.
type JobKind struct {
	Kind    string `json:"kind"`
	Pending int    `json:"pending"`
	Running int    `json:"running"`
	Done    int    `json:"done"`
	Failed  int    `json:"failed"`
}

// RegisterSystem adds GET admin/system/, which needs
// authentik_rbac.view_system_info; database is the store's driver name and
// jobs counts the queue.
func RegisterSystem(a *API, database string, jobs func(context.Context) (job.Stats, error)) {
	started := time.Now()
	Action(a, http.MethodGet, "admin/system/", "admin", "admin_system_retrieve", "Version, database and job queue",
		"authentik_rbac.view_system_info", http.StatusOK,
		func(ctx context.Context, c *Caller, r *http.Request, _ *struct{}) (*SystemInfo, error) {
			now := time.Now
			if a.Now != nil {
				now = a.Now
			}
			out := &SystemInfo{Version: version.String(), Revision: version.Revision(), GoVersion: runtime.Version(),
				Platform: runtime.GOOS + "/" + runtime.GOARCH, Database: database, ServerTime: now().UTC(),
				StartedAt: started.UTC(), Workers: a.JobWorkers, Jobs: []JobKind{}}
			if jobs != nil {
				st, err := jobs(ctx)
				if err != nil {
					return nil, err
				}
				for kind, n := range st.Kinds {
					out.Jobs = append(out.Jobs, JobKind{Kind: kind, Pending: n.Pending, Running: n.Running, Done: n.Done, Failed: n.Failed})
				}
				sort.Slice(out.Jobs, func(i, j int) bool { return out.Jobs[i].Kind < out.Jobs[j].Kind })
			}
			return out, nil
		})
}
