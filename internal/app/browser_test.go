package app

// A small harness that drives a real headless Chromium through chromedp, so
// the HTML pages are proven in a browser: forms, links, redirects, cookies,
// the Content-Security-Policy and the pages' few scripts. It knows nothing
// about flows: any page on any localhost port (a relying party under test,
// say) can be driven the same way.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browserTimeout bounds one step (a navigation, a click and the page it
// loads, a wait). Steps take milliseconds; this only turns a hang into a
// readable failure.
const browserTimeout = 15 * time.Second

// browser is one headless Chromium with one tab.
type browser struct {
	t   testing.TB
	ctx context.Context // the tab's context; steps derive timeouts from it
	cfg browserConfig

	// allowConsoleErrors turns off the check, when the test ends, that
	// the pages logged no errors to the console.
	allowConsoleErrors bool

	mu        sync.Mutex
	console   []chromedp.ConsoleMessage
	documents map[string]bool // the pages loaded, by URL
}

type browserConfig struct {
	js   bool
	lang string
}

// browserOption changes how newBrowser starts Chromium.
type browserOption func(*browserConfig)

// withoutJS turns JavaScript off for the whole browser: every page, every
// tab, every origin. The flow pages must work without it.
func withoutJS() browserOption { return func(c *browserConfig) { c.js = false } }

// withJS sets whether JavaScript runs (it does by default).
func withJS(on bool) browserOption { return func(c *browserConfig) { c.js = on } }

// withLanguage makes the browser ask for a language first, as a browser
// set up in that language does: the Accept-Language header on every
// request and navigator.language for scripts. tag is a BCP 47 tag such as
// "zh-CN".
func withLanguage(tag string) browserOption { return func(c *browserConfig) { c.lang = tag } }

// chromiumPath finds the browser: $GATEHOUSE_TEST_CHROMIUM, else the usual
// names on PATH (Debian's package is "chromium").
func chromiumPath() string {
	if p := os.Getenv("GATEHOUSE_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a fresh headless Chromium for the test (its own
// profile, so no cookies are shared) and stops it when the test ends.
// Without Chromium the test is skipped, or fails when
// GATEHOUSE_TEST_REQUIRE_ALL=1 (CI installs the Debian package chromium).
func newBrowser(t testing.TB, opts ...browserOption) *browser {
	t.Helper()
	cfg := browserConfig{js: true}
	for _, o := range opts {
		o(&cfg)
	}
	path := chromiumPath()
	if path == "" {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("Chromium (Debian package chromium) is required for the browser tests")
		}
		t.Skip("Chromium not installed (Debian package chromium); skipping the browser test")
	}
	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// Plain http://localhost must stay plain HTTP, and nothing should
		// phone home or pop up while a test runs.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,PasswordLeakDetection,AutofillServerCommunication,MediaRouter,OptimizationHints"),
		chromedp.Flag("no-pings", true),
	)
	if !cfg.js {
		// A browser-wide setting, not a per-tab emulation: pages opened by
		// links or redirects in new tabs have no JavaScript either.
		flags = append(flags, chromedp.Flag("blink-settings", "scriptEnabled=false"))
	}
	if cfg.lang != "" {
		// What a browser set up in that language sends: Chromium builds
		// Accept-Language from these ("zh-CN,zh;q=0.9").
		flags = append(flags, chromedp.Flag("lang", cfg.lang), chromedp.Flag("accept-lang", cfg.lang),
			chromedp.Env("LANGUAGE="+strings.ReplaceAll(cfg.lang, "-", "_")))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), flags...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(func(string, ...any) {}))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for Chromium to exit, before t.TempDir is removed
	})
	start := time.Now()
	b := openTab(t, ctx, cfg)
	t.Logf("browser: %s started in %v (JavaScript %s)", path, time.Since(start).Round(time.Millisecond), onOff(cfg.js))
	return b
}

// fresh opens a tab in a new browser context of the same Chromium: no
// cookies or storage shared with b, as another person's browser (the
// phone that opens an emailed link). It closes when the test ends.
func (b *browser) fresh() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	return openTab(b.t, ctx, b.cfg)
}

// openTab starts the tab of ctx (and the browser, the first time) and
// listens to its console.
func openTab(t testing.TB, ctx context.Context, cfg browserConfig) *browser {
	t.Helper()
	b := &browser{t: t, ctx: ctx, cfg: cfg, documents: map[string]bool{}}
	// The first action starts the browser; it runs on the tab's own
	// context (a timeout would end the browser with it).
	messages := chromedp.Console(ctx)
	responses := chromedp.Events(ctx, network.ResponseReceived)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("browser: start: %v", err)
	}
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range responses {
			if err != nil {
				return
			}
			if ev.Type == network.ResourceTypeDocument && ev.Response != nil {
				b.mu.Lock()
				b.documents[ev.Response.URL] = true
				b.mu.Unlock()
			}
		}
	}()
	// Script errors and Content-Security-Policy violations are bugs in
	// the page even when the test's own checks pass.
	t.Cleanup(func() {
		if t.Failed() || b.allowConsoleErrors {
			return
		}
		if errs := b.consoleErrors(); len(errs) > 0 {
			t.Errorf("browser: the console has errors:\n%s", indent(strings.Join(errs, "\n")))
		}
	})
	return b
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// run runs steps with the step timeout and fails the test on an error,
// naming the page the browser was on.
func (b *browser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.retry(what, func(ctx context.Context) error { return chromedp.Do(ctx, steps...) })
}

// retry runs f until it succeeds, fails for good or the step timeout ends.
// Right after a page loads, chromedp's copy of the DOM can still be the
// previous page's for a moment; a query then fails on a stale node, and
// runs again.
func (b *browser) retry(what string, f func(ctx context.Context) error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	for {
		err := f(ctx)
		if err == nil {
			return
		}
		if !staleNode(err) || ctx.Err() != nil {
			b.fail(what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func staleNode(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "No node with given id") || strings.Contains(msg, "Could not find node") ||
		strings.Contains(msg, "does not belong to the document") || strings.Contains(msg, "Cannot find context")
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("nothing happened within %v", browserTimeout)
	}
	b.t.Fatalf("browser: %s: %v\n  at %s\n  page text:\n%s", what, err, b.tryURL(), indent(b.tryText()))
}

// navigate opens url, follows its redirects, waits for the page to load
// and returns the final document's HTTP status.
func (b *browser) navigate(url string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		b.fail("open "+url, err)
	}
	b.settle()
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// settle waits while the page is a redirect page (a flow that ended in
// answer to a form moves on by a meta refresh), so the next step acts on
// where the browser goes, not on a page about to be left.
func (b *browser) settle() {
	b.t.Helper()
	deadline := time.Now().Add(browserTimeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
		on, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('meta[http-equiv="refresh"]')`))
		cancel()
		if err == nil && !on {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fieldSelector selects a form control by its name attribute.
func fieldSelector(name string) chromedp.CSS {
	return chromedp.CSS(`[name="` + name + `"]`)
}

// fill puts value into the form control named name, replacing what it
// held: the control gets the focus and the text arrives as typed text
// does (Input.insertText: one input event, not one per key, which is
// several times faster).
func (b *browser) fill(name, value string) {
	b.t.Helper()
	sel := fieldSelector(name)
	focus := chromedp.Evaluate[chromedp.Void](`(el => { el.value = ""; el.focus(); })(document.querySelector(` +
		strconv.Quote(string(sel)) + `))`)
	insert := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: value})
		return err
	})
	b.run("fill "+name, chromedp.WaitVisible(sel), focus, insert)
	if got := b.value(name); got != value {
		b.fail("fill "+name, fmt.Errorf("the control holds %q, want %q", got, value))
	}
}

// value returns the current value of the form control named name.
func (b *browser) value(name string) string {
	b.t.Helper()
	return b.eval("read "+name, `(document.querySelector(`+strconv.Quote(string(fieldSelector(name)))+`) || {value: "(no such field)"}).value`)
}

// click clicks the first element matching the CSS selector and waits for
// the page it loads (a form submission or a link; the click must load a
// page). It returns the final document's HTTP status.
func (b *browser) click(css string) int {
	b.t.Helper()
	return b.clickAndLoad("click "+css, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
}

// press clicks the first element matching the CSS selector when the click
// loads no page (a checkbox, a script's button).
func (b *browser) press(css string) {
	b.t.Helper()
	b.run("press "+css, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
}

// clickText clicks the visible button or link whose text is text (spaces
// trimmed) and waits for the page it loads.
func (b *browser) clickText(text string) int {
	b.t.Helper()
	lit := xpathLiteral(text)
	xpath := `//button[normalize-space()=` + lit + `] | //a[normalize-space()=` + lit + `] | //input[(@type="submit" or @type="button") and @value=` + lit + `]`
	return b.clickAndLoad(fmt.Sprintf("click %q", text), chromedp.Click(xpath, chromedp.NodeVisible))
}

func (b *browser) clickAndLoad(what string, click chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	var resp *network.Response
	b.retry(what, func(ctx context.Context) error {
		var err error
		resp, err = chromedp.RunResponse(ctx, click)
		return err
	})
	b.settle()
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// xpathLiteral quotes s for XPath 1.0, which has no escapes.
func xpathLiteral(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	if !strings.Contains(s, `'`) {
		return `'` + s + `'`
	}
	parts := strings.Split(s, `"`)
	return `concat("` + strings.Join(parts, `", '"', "`) + `")`
}

// text returns the page's visible text (what innerText gives: hidden
// elements left out).
func (b *browser) text() string {
	b.t.Helper()
	return b.eval("read the page text", `document.body ? document.body.innerText : ""`)
}

// eval evaluates a JavaScript expression that gives a string. DevTools
// runs it even when the page's own scripts are off.
func (b *browser) eval(what, expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.fail(what, err)
	}
	return s
}

// url returns the address of the current page.
func (b *browser) url() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.fail("read the address", err)
	}
	return u
}

// visible reports whether an element matching the CSS selector is on the
// page and shown; it does not wait.
func (b *browser) visible(css string) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const el = document.querySelector(`+strconv.Quote(css)+`);
		return !!el && el.checkVisibility();
	})()`))
	if err != nil {
		b.fail("look for "+css, err)
	}
	return ok
}

// waitText waits until the page's visible text contains want, and returns
// that text.
func (b *browser) waitText(want string) string {
	b.t.Helper()
	deadline := time.Now().Add(browserTimeout)
	for {
		got := b.text()
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: waited %v for %q\n  at %s\n  page text:\n%s", browserTimeout, want, b.tryURL(), indent(got))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// consoleErrors returns the console errors and uncaught exceptions so far:
// script errors, Content-Security-Policy violations, failed loads of a
// page's resources (a stylesheet, a script). A page's own error status
// (a 403 page a test opens on purpose) is the test's to check, not an
// error here.
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if m.Source == "network" && b.documents[m.URL] {
			continue
		}
		// Browsers ask every site for /favicon.ico; its 404 says
		// nothing about the page.
		if strings.HasSuffix(m.URL, "/favicon.ico") {
			continue
		}
		if m.Type == chromedp.ConsoleError || m.IsException() {
			out = append(out, fmt.Sprintf("%s (%s)", m.Text, m.URL))
		}
	}
	return out
}

// tryURL and tryText describe the page for a failure message; they never
// fail themselves.
func (b *browser) tryURL() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return u
}

func (b *browser) tryText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : document.documentElement.outerHTML`))
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return s
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}
