// Command gatehouse-load drives a running Gatehouse with concurrent HTTP
// requests and reports throughput and latency, next to the crypto floor
// (RS256 signatures per second with an RSA-2048 key, on the same machine
// in the same run), so results are comparable across machines as ratios.
//
//	gatehouse-load -url http://localhost:9000/application/o/demo/jwks/ -d 10s -c 64
//	gatehouse-load -url http://localhost:9000/application/o/token/ -d 10s -c 32 \
//	  -form 'grant_type=client_credentials&scope=openid' -basic 'CLIENT_ID:CLIENT_SECRET'
//
// Only the standard library: a load generator must not be slower than what
// it measures, and net/http with tuned keep-alive pools is enough.
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	url, form, basic, method string
	duration                 time.Duration
	conc                     int
	floor                    bool
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "URL to request (required)")
	flag.StringVar(&o.form, "form", "", "URL-encoded body; makes the request a POST")
	flag.StringVar(&o.basic, "basic", "", "user:password for HTTP Basic authentication (client_id:client_secret)")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "how long to run")
	flag.IntVar(&o.conc, "c", 4*runtime.NumCPU(), "concurrent connections")
	flag.BoolVar(&o.floor, "floor", true, "measure RS256 signing for the same duration first, for the ratio")
	flag.Parse()
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-load:", err)
		os.Exit(2)
	}
}

func run(o options, out io.Writer) error {
	u, err := url.Parse(o.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url: %q is not an http(s) URL", o.url)
	}
	if o.conc < 1 || o.duration <= 0 {
		return errors.New("-c and -d must be positive")
	}
	user, pass, hasBasic := strings.Cut(o.basic, ":")
	if o.basic != "" && !hasBasic {
		return errors.New("-basic: want user:password")
	}
	o.method = http.MethodGet
	if o.form != "" {
		o.method = http.MethodPost
	}
	tr := &http.Transport{MaxIdleConns: o.conc, MaxIdleConnsPerHost: o.conc, MaxConnsPerHost: o.conc}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// One probe: fail fast and clearly on a wrong URL or credentials.
	if status, err := do(client, o, user, pass); err != nil || status >= 400 {
		return fmt.Errorf("probe %s %s: status %d %v", o.method, o.url, status, err)
	}
	var floor float64
	if o.floor {
		floor = signingFloor(min(o.duration, 5*time.Second))
		fmt.Fprintf(out, "crypto floor: %.0f RS256 signatures/s on %d cores\n", floor, runtime.NumCPU())
	}
	var ok, failed atomic.Int64
	lat := make([][]time.Duration, o.conc)
	stop := time.Now().Add(o.duration)
	var wg sync.WaitGroup
	for i := range o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				t0 := time.Now()
				status, err := do(client, o, user, pass)
				if err != nil || status >= 400 {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	rps := float64(ok.Load()) / o.duration.Seconds()
	fmt.Fprintf(out, "%s %s: %d ok, %d failed in %s with %d connections\n", o.method, o.url, ok.Load(), failed.Load(), o.duration, o.conc)
	fmt.Fprintf(out, "throughput: %.0f requests/s\n", rps)
	if len(all) > 0 {
		q := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
		fmt.Fprintf(out, "latency: p50 %s  p95 %s  p99 %s  max %s\n", q(0.50), q(0.95), q(0.99), all[len(all)-1])
	}
	if floor > 0 {
		fmt.Fprintf(out, "ratio to the signing floor: %.2f\n", rps/floor)
	}
	if failed.Load() > 0 {
		return fmt.Errorf("%d requests failed", failed.Load())
	}
	return nil
}

func do(c *http.Client, o options, user, pass string) (int, error) {
	var body io.Reader
	if o.form != "" {
		body = strings.NewReader(o.form)
	}
	req, err := http.NewRequest(o.method, o.url, body)
	if err != nil {
		return 0, err
	}
	if o.form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if o.basic != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// signingFloor is RS256 signatures per second over all cores: what every
// token the server issues costs at the least.
func signingFloor(d time.Duration) float64 {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return 0
	}
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJsb2FkIn0")
			for time.Now().Before(stop) {
				sum := sha256.Sum256(msg)
				if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:]); err == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}
