package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	gapp "github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/version"
)

func init() {
	register(command{name: "serve", summary: "run the server (the default command)", run: runServe})
	register(command{name: "migrate", summary: "apply database migrations and exit", run: runMigrate})
	register(command{name: "version", summary: "print the version", run: runVersion})
	register(command{name: "healthcheck", summary: "exit 0 if the local server is ready (for container health checks)", run: runHealthcheck})
}

func runServe(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("serve", "", "Serve HTTP (listen.http), HTTPS (listen.https) and metrics (listen.metrics) until SIGTERM.")
	grace := fs.Duration("shutdown-grace", 25*time.Second, "how long in-flight requests may take to finish at shutdown")
	if err := parse(fs, args); err != nil {
		return err
	}
	started := time.Now()
	cfg, log, err := a.loadConfig()
	if err != nil {
		return err
	}
	g, err := gapp.New(ctx, cfg, log, gapp.Options{})
	if err != nil {
		return err
	}
	defer g.Close()
	ls, err := g.Server.Listen()
	if err != nil {
		return err
	}
	// Building the product (migrations, template parsing, a first key)
	// leaves garbage the runtime would give back only over minutes; an
	// idle server should hold what it uses, now.
	debug.FreeOSMemory()
	log.Info("gatehouse started", "version", version.String(), "database", g.DB().Driver(),
		"startup", time.Since(started).Round(time.Millisecond).String())
	if g.NeedsSetup {
		log.Warn("finish initial setup: open " + setupURL(cfg.ExternalURL, cfg.Listen.HTTP) +
			" to set the password of akadmin")
	}
	return g.Run(ctx, ls, *grace)
}

// setupURL is where the operator finishes setup, as Authentik prints it.
func setupURL(external, listen string) string {
	if external != "" {
		return external + "/if/flow/initial-setup/"
	}
	_, port, _ := net.SplitHostPort(listen)
	if port == "" {
		port = "9000"
	}
	return "http://localhost:" + port + "/if/flow/initial-setup/"
}

func runMigrate(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("migrate", "", "Apply pending database migrations, then print the schema version.")
	if err := parse(fs, args); err != nil {
		return err
	}
	x, err := a.open(ctx) // open migrates
	if err != nil {
		return err
	}
	defer x.Close()
	cur, latest, err := x.db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "database %s at schema version %d (latest %d)\n", x.db.Driver(), cur, latest)
	return nil
}

func runVersion(_ context.Context, a *cli, args []string) error {
	fs := a.flags("version", "", "Print the version and the commit it was built from.")
	if err := parse(fs, args); err != nil {
		return err
	}
	rev := version.Revision()
	if rev == "" {
		rev = "unknown"
	}
	fmt.Fprintf(a.stdout, "gatehouse %s (commit %s)\n", version.String(), rev)
	return nil
}

func runHealthcheck(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("healthcheck", "", "Ask the server on this host for /-/health/ready/; exit 0 when it answers 2xx.")
	url := fs.String("url", "", "URL to check instead of the one derived from listen.http")
	if err := parse(fs, args); err != nil {
		return err
	}
	target := *url
	if target == "" {
		cfg, _, err := a.loadConfig()
		if err != nil {
			return err
		}
		_, port, _ := net.SplitHostPort(cfg.Listen.HTTP)
		if port == "" {
			return usagef("listen.http is disabled; pass --url")
		}
		target = "http://127.0.0.1:" + port + "/-/health/ready/"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return usagef("--url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not healthy: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("not healthy: %s answered %s", target, resp.Status)
	}
	fmt.Fprintln(a.stdout, "healthy")
	return nil
}
