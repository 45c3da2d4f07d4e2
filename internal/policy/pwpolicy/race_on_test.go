//go:build race

package pwpolicy

// raceSlowdown scales timing budgets: the race detector makes this code
// about ten to twenty times slower.
const raceSlowdown = 4
