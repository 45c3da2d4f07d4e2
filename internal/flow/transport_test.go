package flow_test

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// TestEngineKnowsNoHTTP: nothing the flow engine and its stages import,
// directly or through other packages, is net/http, so a front end without
// HTTP (the LDAP bind) can run flows. A failure names the packages that
// brought it in.
func TestEngineKnowsNoHTTP(t *testing.T) {
	// go test puts its own go first in PATH.
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}:{{join .Imports " "}}`,
		"github.com/gatehouse-id/gatehouse/internal/flow/...").Output()
	if err != nil {
		t.Skipf("go list is not available here: %v", err)
	}
	var importers []string
	for line := range strings.Lines(string(out)) {
		pkg, imports, _ := strings.Cut(strings.TrimSpace(line), ":")
		if isHTTP(pkg) {
			continue // net/http's own parts
		}
		for _, imp := range strings.Fields(imports) {
			if isHTTP(imp) {
				importers = append(importers, pkg+" imports "+imp)
			}
		}
	}
	sort.Strings(importers)
	if len(importers) > 0 {
		t.Errorf("the flow engine depends on HTTP:\n%s", strings.Join(importers, "\n"))
	}
}

func isHTTP(pkg string) bool { return pkg == "net/http" || strings.HasPrefix(pkg, "net/http/") }
