//go:build !race

package pwpolicy

// raceSlowdown scales timing budgets; see race_on_test.go.
const raceSlowdown = 1
