// Package version reports what build is running.
package version

import (
	"runtime/debug"
	"sync"
)

// Version is set at link time: -ldflags "-X github.com/gatehouse-id/gatehouse/internal/version.Version=1.2.3".
var Version = ""

var (
	once     sync.Once
	revision string
)

// String is the release version, or "dev" with the VCS revision when known.
func String() string {
	if Version != "" {
		return Version
	}
	return "dev"
}

// Revision is the VCS commit the binary was built from, when recorded.
func Revision() string {
	once.Do(func() {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					revision = s.Value
				}
			}
		}
	})
	return revision
}
