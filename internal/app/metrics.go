package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-id/gatehouse/internal/invalidate"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/policy/expression"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// productMetrics are the feature metrics; the server adds HTTP, Go runtime,
// process and build metrics to the same registry. Features report through
// plain hooks (flow.Observer, policy.Hooks.Evaluated, oauth2.Service.Issued,
// the event writer), so only this file knows Prometheus. Every label is
// bounded: actions, kinds, outcomes and grant types are fixed sets; flow
// slugs and provider names are made by admins.
type productMetrics struct {
	events        *prometheus.CounterVec
	logins        *prometheus.CounterVec
	flows         *prometheus.CounterVec
	stageSeconds  *prometheus.HistogramVec
	policies      *prometheus.CounterVec
	policySeconds *prometheus.HistogramVec
	tokens        *prometheus.CounterVec
}

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

func newProductMetrics() *productMetrics {
	return &productMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_events_total",
			Help: "Audit events recorded, by action."}, []string{"action"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_logins_total",
			Help: "Password logins by result (success or failure)."}, []string{"result"}),
		flows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_flow_executions_total",
			Help: "Flow executions that ended, by flow slug and result (completed, denied, error)."}, []string{"flow", "result"}),
		stageSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_flow_stage_duration_seconds",
			Help: "Time spent in one stage step, by stage kind and outcome.", Buckets: latencyBuckets}, []string{"kind", "outcome"}),
		policies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_policy_evaluations_total",
			Help: "Policy evaluations by policy kind and result (pass, fail, error)."}, []string{"kind", "result"}),
		policySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_policy_evaluation_duration_seconds",
			Help: "Policy evaluation latency by policy kind.", Buckets: latencyBuckets}, []string{"kind"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_tokens_issued_total",
			Help: "OAuth2 token responses by provider and grant type."}, []string{"provider", "grant"}),
	}
}

// event counts a recorded event; logins are derived from the login events
// so the counter and the audit log cannot disagree.
func (m *productMetrics) event(action string) {
	m.events.WithLabelValues(action).Inc()
	switch action {
	case "login":
		m.logins.WithLabelValues("success").Inc()
	case "login_failed":
		m.logins.WithLabelValues("failure").Inc()
	}
}

// Stage and Flow implement flow.Observer.
func (m *productMetrics) Stage(_, kind, outcome string, d time.Duration) {
	m.stageSeconds.WithLabelValues(kind, outcome).Observe(d.Seconds())
}

func (m *productMetrics) Flow(flow, result string) { m.flows.WithLabelValues(flow, result).Inc() }

func (m *productMetrics) policy(kind, result string, d time.Duration) {
	m.policies.WithLabelValues(kind, result).Inc()
	m.policySeconds.WithLabelValues(kind).Observe(d.Seconds())
}

func (m *productMetrics) issued(provider, grant string) {
	m.tokens.WithLabelValues(provider, grant).Inc()
}

// register adds the feature metrics and the scrape-time gauges (sessions,
// jobs, database pool) to reg.
func (m *productMetrics) register(reg prometheus.Registerer, db *sqlstore.DB, q *job.Queue, bus *invalidate.Bus) {
	reg.MustRegister(m.events, m.logins, m.flows, m.stageSeconds, m.policies, m.policySeconds, m.tokens,
		collectors.NewDBStatsCollector(db.SQL(), db.Driver()),
		&scrapeCollector{db: db, q: q},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_expressions_running",
			Help: "Expressions (policies, mappings) running now, including any still running after their time limit."},
			func() float64 { return float64(expression.Running()) }))
	if db.Driver() == "postgres" {
		// Only where there are other replicas to hear: on SQLite a
		// constant 0 would look like an outage.
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_invalidation_listening",
			Help: "1 while this replica listens for other replicas' changes (PostgreSQL LISTEN); 0 while their changes reach it only through cache expiry."},
			func() float64 {
				if bus.Listening() {
					return 1
				}
				return 0
			}))
	}
}

// scrapeCollector reads counts from the database when scraped: cheap
// indexed counts every scrape interval, rather than bookkeeping on every
// login that could drift from the truth across replicas.
type scrapeCollector struct {
	db *sqlstore.DB
	q  *job.Queue
}

var (
	sessionsDesc = prometheus.NewDesc("gatehouse_sessions_active", "Logged-in sessions that have not expired.", nil, nil)
	jobsDesc     = prometheus.NewDesc("gatehouse_jobs", "Background jobs by kind and state (pending, running, done, failed).",
		[]string{"kind", "state"}, nil)
	scrapeErrDesc = prometheus.NewDesc("gatehouse_metrics_scrape_errors", "1 when a scrape-time database read failed.",
		[]string{"source"}, nil)
)

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sessionsDesc
	ch <- jobsDesc
	ch <- scrapeErrDesc
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	failed := func(source string, err error) {
		v := 0.0
		if err != nil {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, v, source)
	}
	n, err := activeSessions(ctx, c.db)
	if err == nil {
		ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(n))
	}
	failed("sessions", err)
	st, err := c.q.Stats(ctx)
	if err == nil {
		for kind, cnt := range st.Kinds {
			for state, v := range map[string]int{"pending": cnt.Pending, "running": cnt.Running, "done": cnt.Done, "failed": cnt.Failed} {
				ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(v), kind, state)
			}
		}
	}
	failed("jobs", err)
}

func activeSessions(ctx context.Context, db *sqlstore.DB) (int, error) {
	tenants, err := db.Tenants().List(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, t := range tenants {
		n, err := db.Scope(t.ID).Sessions().CountActive(ctx, time.Now())
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}
