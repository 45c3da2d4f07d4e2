package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// BenchmarkEventBrowserPostgres loads ten million events into PostgreSQL
// and measures the event browser's queries (a page of 50 with the first
// page's capped count, as the browser asks) by filter: the bar is a
// p95 under 100 ms. Loading takes minutes, so it runs only with
// GATEHOUSE_BENCH_EVENTS=1 (GATEHOUSE_BENCH_EVENTS_ROWS changes the count;
// GATEHOUSE_BENCH_EVENTS_SCHEMA=name keeps the loaded schema for the next run):
//
//	GATEHOUSE_TEST_POSTGRES=... GATEHOUSE_BENCH_EVENTS=1 go test ./internal/store/sqlstore \
//	    -run '^$' -bench EventBrowserPostgres -benchtime 200x -timeout 60m
func BenchmarkEventBrowserPostgres(b *testing.B) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES") == "" || os.Getenv("GATEHOUSE_BENCH_EVENTS") != "1" {
		b.Skip("needs GATEHOUSE_TEST_POSTGRES and GATEHOUSE_BENCH_EVENTS=1 (loads 10 million events)")
	}
	rows := 10_000_000
	if v := os.Getenv("GATEHOUSE_BENCH_EVENTS_ROWS"); v != "" {
		rows, _ = strconv.Atoi(v)
	}
	ctx := context.Background()
	db, kept := NewPostgres(b), false
	if name := os.Getenv("GATEHOUSE_BENCH_EVENTS_SCHEMA"); name != "" {
		db, kept = keptSchema(b, name, rows)
	}
	// A few tenants of very different sizes: the biggest holds 70%.
	shares := []int{70, 20, 7, 3}
	tenants := make([]uuid.UUID, len(shares))
	if kept {
		list, err := db.Tenants().List(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for i := range tenants {
			tenants[i] = list[len(list)-len(shares)+i].ID
		}
	} else {
		for i := range shares {
			t := &store.Tenant{Name: fmt.Sprintf("tenant-%d", i)}
			if err := db.Tenants().Create(ctx, t); err != nil {
				b.Fatal(err)
			}
			tenants[i] = t.ID
		}
		start := time.Now()
		loadEvents(b, db.SQL(), tenants, shares, rows)
		b.Logf("loaded %d events in %v", rows, time.Since(start).Round(time.Second))
	}

	big := db.Scope(tenants[0])
	picks := samplePicks(b, db.SQL(), tenants[0])
	now := time.Now()
	at := func(r *rand.Rand) time.Time { return now.Add(-time.Duration(r.Int64N(int64(360 * 24 * time.Hour)))) }
	day := 24 * time.Hour
	queries := []struct {
		name string
		q    func(r *rand.Rand) store.EventQuery
	}{
		{"newest", func(*rand.Rand) store.EventQuery { return store.EventQuery{} }},
		{"oldest", func(*rand.Rand) store.EventQuery { return store.EventQuery{Ordering: "created"} }},
		{"action_common", func(*rand.Rand) store.EventQuery { return store.EventQuery{Action: "login"} }},
		{"action_rare", func(*rand.Rand) store.EventQuery { return store.EventQuery{Action: "suspicious_request"} }},
		{"username", func(r *rand.Rand) store.EventQuery { return store.EventQuery{Username: pick(r, picks.users)} }},
		{"client_ip", func(r *rand.Rand) store.EventQuery { return store.EventQuery{ClientIP: pick(r, picks.ips)} }},
		{"app", func(r *rand.Rand) store.EventQuery { return store.EventQuery{App: pick(r, picks.apps)} }},
		{"day", func(r *rand.Rand) store.EventQuery { s := at(r); return store.EventQuery{Since: s, Until: s.Add(day)} }},
		{"action_month_oldest_first", func(r *rand.Rand) store.EventQuery {
			s := at(r)
			return store.EventQuery{Action: "login_failed", Since: s, Until: s.Add(30 * day), Ordering: "created"}
		}},
		{"username_week", func(r *rand.Rand) store.EventQuery {
			s := at(r)
			return store.EventQuery{Username: pick(r, picks.users), Since: s, Until: s.Add(7 * day)}
		}},
		{"action_and_username", func(r *rand.Rand) store.EventQuery {
			return store.EventQuery{Action: "login_failed", Username: pick(r, picks.users)}
		}},
		{"action_and_client_ip", func(r *rand.Rand) store.EventQuery {
			return store.EventQuery{Action: "login", ClientIP: pick(r, picks.ips)}
		}},
		{"page_20_by_number", func(*rand.Rand) store.EventQuery {
			return store.EventQuery{Action: "login", Page: store.Page{Number: 20, Size: 50}}
		}},
	}
	for _, qt := range queries {
		b.Run(qt.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			var took []time.Duration
			for b.Loop() {
				q := qt.q(r)
				if q.Page.Size == 0 {
					q.Page.Size = 50
				}
				t0 := time.Now()
				list, _, err := big.Events().List(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				// The browser's next page continues from the last event.
				if len(list) == q.Page.Size && q.Page.Number <= 1 {
					q.After = list[len(list)-1]
					if _, _, err := big.Events().List(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
				took = append(took, time.Since(t0))
			}
			slices.Sort(took)
			p := func(f float64) time.Duration { return took[min(len(took)-1, int(f*float64(len(took))))] }
			b.ReportMetric(float64(p(0.50).Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(p(0.95).Microseconds())/1000, "p95_ms")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max_ms")
			if p(0.95) > 100*time.Millisecond {
				b.Errorf("%s: p95 %v over the 100 ms target", qt.name, p(0.95))
			}
		})
	}
}

// keptSchema opens the named schema, which outlives the run so that the
// next one (GATEHOUSE_BENCH_EVENTS_SCHEMA set again) skips the load; it
// reports whether the schema already holds the events.
func keptSchema(b *testing.B, name string, rows int) (*sqlstore.DB, bool) {
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	_, err = admin.Exec(`CREATE SCHEMA IF NOT EXISTS ` + name)
	admin.Close()
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "postgres", DSN: dsn + " search_path=" + name})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return db, n >= rows
}

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

type browserPicks struct{ users, ips, apps []string }

// samplePicks takes filter values from random rows, so popular users and
// addresses are asked for as often as they occur.
func samplePicks(b *testing.B, db *sql.DB, tenant uuid.UUID) browserPicks {
	var p browserPicks
	rows, err := db.Query(`SELECT username, client_ip, app FROM events TABLESAMPLE SYSTEM (0.1)
		WHERE tenant_id = $1 LIMIT 2000`, tenant)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var u, ip, app string
		if err := rows.Scan(&u, &ip, &app); err != nil {
			b.Fatal(err)
		}
		p.users, p.ips = append(p.users, u), append(p.ips, ip)
		if app != "" {
			p.apps = append(p.apps, app)
		}
	}
	if len(p.users) == 0 || len(p.apps) == 0 {
		b.Fatal("the sample found no events")
	}
	return p
}

// actionWeights is a plausible mix, per thousand events.
var actionWeights = []struct {
	action string
	weight int
}{
	{"login", 400}, {"authorize_application", 200}, {"logout", 150}, {"login_failed", 80},
	{"policy_execution", 60}, {"model_updated", 40}, {"user_write", 20}, {"email_sent", 15},
	{"password_set", 10}, {"model_created", 10}, {"model_deleted", 5}, {"policy_exception", 5},
	{"invitation_used", 3}, {"suspicious_request", 1}, {"property_mapping_exception", 1},
}

// loadEvents generates rows in PostgreSQL itself (INSERT ... SELECT over
// generate_series), two connections at once, with the indexes dropped
// and rebuilt after: what a restore does, and minutes instead of an hour.
// Users are skewed (a few are most of the traffic), each mostly logs in
// from one address, and times spread over the retention year.
func loadEvents(b *testing.B, db *sql.DB, tenants []uuid.UUID, shares []int, rows int) {
	ctx := context.Background()
	var tenantSlots, actionSlots []string
	for i, s := range shares {
		for range s {
			tenantSlots = append(tenantSlots, tenants[i].String())
		}
	}
	for _, a := range actionWeights {
		for range a.weight {
			actionSlots = append(actionSlots, a.action)
		}
	}
	type index struct{ name, def string }
	var indexes []index
	ir, err := db.QueryContext(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = 'events' AND indexname <> 'events_pkey'`)
	if err != nil {
		b.Fatal(err)
	}
	for ir.Next() {
		var i index
		ir.Scan(&i.name, &i.def)
		indexes = append(indexes, i)
	}
	ir.Close()
	exec := func(conn *sql.Conn, q string, args ...any) error {
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", q[:min(len(q), 60)], err)
		}
		return nil
	}
	main, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer main.Close()
	must := func(q string) {
		if err := exec(main, q); err != nil {
			b.Fatal(err)
		}
	}
	must(`ALTER TABLE events DROP CONSTRAINT events_pkey`)
	for _, i := range indexes {
		must(`DROP INDEX ` + i.name)
	}
	const chunk = 500_000
	workers := 2
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			conn, err := db.Conn(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			// The tenants exist; skipping the per-row foreign key check
			// (a superuser setting) is what makes the load minutes long.
			if err := exec(conn, `SET session_replication_role = replica`); err != nil {
				b.Error(err)
				return
			}
			for from := w * chunk; from < rows; from += workers * chunk {
				n := min(chunk, rows-from)
				err := exec(conn, `INSERT INTO events (tenant_id, id, action, user_id, username, impersonator_id, impersonator_username,
						app, client_ip, user_agent, context, created_at, expires)
					SELECT CAST(($1::text[])[1 + floor(r1 * 100)::int] AS uuid), gen_random_uuid(), act, md5('user' || n)::uuid, 'user' || n,
						NULL, '', CASE WHEN act = 'authorize_application' THEN 'app-' || floor(r2 * r2 * 40)::int ELSE '' END,
						CASE WHEN r3 < 0.8 THEN '10.' || (n / 65536) % 256 || '.' || (n / 256) % 256 || '.' || n % 256
							ELSE '198.51.' || floor(r4 * 256)::int || '.' || floor(r2 * 256)::int END,
						CASE WHEN r4 < 0.6 THEN 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0'
							ELSE 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15' END,
						jsonb_build_object('flow', 'default-authentication-flow', 'auth_method', 'password',
							'http_request', jsonb_build_object('method', 'POST', 'path', '/api/v3/flows/executor/default-authentication-flow/')),
						created, created + 31536000000000
					FROM (SELECT floor(50000 * power(random(), 3))::int AS n, ($2::text[])[1 + floor(random() * 1000)::int] AS act,
							random() AS r1, random() AS r2, random() AS r3, random() AS r4,
							$3::bigint - floor(random() * 31536000000000)::bigint AS created
						FROM generate_series(1, $4::int)) g`,
					tenantSlots, actionSlots, time.Now().UnixMicro(), n)
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	must(`SET maintenance_work_mem = '1GB'`)
	must(`ALTER TABLE events ADD PRIMARY KEY (id)`)
	for _, i := range indexes {
		must(i.def)
	}
	// Fresh statistics and a visibility map, as autovacuum leaves a table
	// that has been in service a while.
	must(`VACUUM ANALYZE events`)
}
