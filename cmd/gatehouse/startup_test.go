package main

import (
	"bufio"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The start-up promise of the architecture: one static binary that is
// ready in under a second on its embedded database, first start included
// (migrations, secret key and self-signed certificate generation), and
// that idles in little memory. These tests measure the real binary, the
// way an operator runs it.

const (
	maxReady   = time.Second
	maxIdleRSS = 40 << 20 // the target
	idleWait   = 2 * time.Second
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds ./cmd/gatehouse once per test run, as `go build` would for
// an operator (no race detector, no test instrumentation).
func binary(tb testing.TB) string {
	tb.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("go is not on PATH; cannot build the binary to measure start-up")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "gatehouse-startup-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "gatehouse")
		cmd := exec.Command(goTool, "build", "-o", binPath, ".")
		// The release build: static, and without flags such as -race that
		// the test run itself may carry in GOFLAGS.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// process is a running gatehouse.
type process struct {
	cmd *exec.Cmd
	// base and metrics are the HTTP and metrics listeners' URLs,
	// http://127.0.0.1:<port>.
	base, metrics string
	logs          *syncBuffer
	done          chan error
	started       time.Time
	stopped       sync.Once
}

// startBinary runs `gatehouse serve` on dataDir with free loopback ports
// and returns once /-/health/ready/ answers 204, with the time from exec
// to that answer.
func startBinary(tb testing.TB, bin, dataDir string) (*process, time.Duration) {
	tb.Helper()
	p := launch(tb, bin, map[string]string{"GATEHOUSE_DATA_DIR": dataDir})
	return p, p.ready(tb)
}

// launch starts `gatehouse serve` with env and free loopback ports, and
// stops it when the test ends; ready waits for it.
func launch(tb testing.TB, bin string, env map[string]string) *process {
	tb.Helper()
	env = maps.Clone(env)
	httpPort, _, metricsPort := listenEnv(tb, env)
	cmd := exec.Command(bin, "serve")
	// Only our settings: the developer's own GATEHOUSE_*/AUTHENTIK_* must
	// not change what is measured.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") && !strings.HasPrefix(kv, "AUTHENTIK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, base: "http://127.0.0.1:" + httpPort, metrics: "http://127.0.0.1:" + metricsPort,
		logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	tb.Cleanup(func() { p.stop(tb) })
	return p
}

// ready returns once /-/health/ready/ answers 204, with the time from
// exec to that answer.
func (p *process) ready(tb testing.TB) time.Duration {
	tb.Helper()
	url := p.base + "/-/health/ready/"
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return time.Since(p.started)
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			tb.Fatalf("gatehouse exited (%v) before it was ready:\n%s", err, p.logs)
		case <-time.After(2 * time.Millisecond):
		}
		if time.Since(p.started) > 30*time.Second {
			tb.Fatalf("gatehouse not ready after 30 s:\n%s", p.logs)
		}
	}
}

// stop sends SIGTERM, as a container runtime does, and expects exit 0.
func (p *process) stop(tb testing.TB) {
	p.stopped.Do(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.done:
			if err != nil {
				tb.Errorf("gatehouse exited with %v after SIGTERM; want 0\n%s", err, p.logs)
			}
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			tb.Errorf("gatehouse ignored SIGTERM for 30 s:\n%s", p.logs)
		}
	})
}

// rss reads the resident set size of a running process from /proc.
func (p *process) rss(tb testing.TB) (int64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, false // not Linux
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				tb.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10, true
		}
	}
	return 0, false
}

func TestStartupUnderOneSecond(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := binary(t)
	dataDir := filepath.Join(t.TempDir(), "data") // does not exist yet

	p, first := startBinary(t, bin, dataDir)
	t.Logf("first start (empty data dir: migrations, secret key, certificate): ready in %v", first.Round(time.Millisecond))
	if first > maxReady {
		t.Errorf("first start took %v to be ready; want under %v", first, maxReady)
	}
	for _, f := range []string{"gatehouse.db", "secret_key", "certs/self-signed.crt", "certs/self-signed.key"} {
		if _, err := os.Stat(filepath.Join(dataDir, f)); err != nil {
			t.Errorf("after the first start, the data dir lacks %s: %v", f, err)
		}
	}

	time.Sleep(idleWait)
	if rss, ok := p.rss(t); ok {
		t.Logf("idle RSS after %v: %.1f MB", idleWait, float64(rss)/(1<<20))
		if rss > maxIdleRSS {
			t.Errorf("idle RSS %.1f MB; want under %d MB", float64(rss)/(1<<20), maxIdleRSS>>20)
		}
	}
	p.stop(t)

	_, second := startBinary(t, bin, dataDir)
	t.Logf("second start (existing data): ready in %v", second.Round(time.Millisecond))
	if second > maxReady {
		t.Errorf("second start took %v to be ready; want under %v", second, maxReady)
	}
}

// BenchmarkStartup reports the time from exec to the first 204 from
// /-/health/ready/, for a first start on an empty data dir and for a
// restart on existing data, and the idle RSS after idleWait.
//
//	go test -run '^$' -bench Startup ./cmd/gatehouse/
func BenchmarkStartup(b *testing.B) {
	bin := binary(b)
	existing := filepath.Join(b.TempDir(), "data")
	p, _ := startBinary(b, bin, existing)
	p.stop(b)

	for _, bc := range []struct {
		name    string
		dataDir func() string
	}{
		{"first", func() string { return filepath.Join(b.TempDir(), "data") }},
		{"second", func() string { return existing }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var total time.Duration
			var p *process
			n := 0
			for b.Loop() {
				var ready time.Duration
				p, ready = startBinary(b, bin, bc.dataDir())
				total += ready
				n++
				p.stop(b)
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms-to-ready")

			p, _ = startBinary(b, bin, bc.dataDir())
			time.Sleep(idleWait)
			if rss, ok := p.rss(b); ok {
				b.ReportMetric(float64(rss)/(1<<20), "idle-rss-MB")
			}
			p.stop(b)
		})
	}
}
