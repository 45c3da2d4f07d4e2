//go:build race

package expression

// The race detector slows memory-heavy code several times over.
func init() { raceSlowdown = 5 }
