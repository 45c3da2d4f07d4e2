package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// timedeltaUnits are the keyword arguments of Python's datetime.timedelta,
// which is what Authentik feeds "days=1;hours=2" into.
var timedeltaUnits = map[string]time.Duration{
	"weeks":        7 * 24 * time.Hour,
	"days":         24 * time.Hour,
	"hours":        time.Hour,
	"minutes":      time.Minute,
	"seconds":      time.Second,
	"milliseconds": time.Millisecond,
	"microseconds": time.Microsecond,
}

const durationHint = `use Go syntax like "90s" or "1h30m", Authentik syntax like "hours=1;minutes=30", or a number of seconds`

// ParseDuration reads a duration in any of the spellings Gatehouse accepts:
//
//   - Go syntax: "90s", "1h30m", "250ms";
//   - Authentik's syntax: "days=1", "hours=2;minutes=30", "seconds=0", with
//     the units of Python's timedelta (weeks, days, hours, minutes, seconds,
//     milliseconds, microseconds) and decimal values ("hours=1.5");
//   - a bare integer, meaning seconds, as in Authentik's email timeout.
//
// Configuration, blueprints and stage settings all use it, so a value
// copied from Authentik means the same thing everywhere.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	switch {
	case t == "":
		return 0, fmt.Errorf("empty duration (%s)", durationHint)
	case strings.Contains(t, "="):
		return parseTimedelta(s, t)
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return 0, fmt.Errorf("%q is too long a duration", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (%s)", s, durationHint)
	}
	return d, nil
}

// FormatDuration spells d the way Authentik's settings do ("days=1"), the
// largest unit that divides it exactly; ParseDuration reads it back.
func FormatDuration(d time.Duration) string {
	for _, u := range []struct {
		name string
		size time.Duration
	}{{"days", 24 * time.Hour}, {"hours", time.Hour}, {"minutes", time.Minute}} {
		if d%u.size == 0 {
			return fmt.Sprintf("%s=%d", u.name, d/u.size)
		}
	}
	return fmt.Sprintf("seconds=%d", d/time.Second)
}

func parseTimedelta(orig, t string) (time.Duration, error) {
	var total float64
	seen := map[string]bool{}
	for part := range strings.SplitSeq(t, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue // "days=1;" is fine in Authentik too
		}
		key, val, ok := strings.Cut(part, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok {
			return 0, fmt.Errorf("%q is not a duration: %q is not unit=value", orig, part)
		}
		unit, known := timedeltaUnits[key]
		if !known {
			return 0, fmt.Errorf("%q is not a duration: unknown unit %q (use weeks, days, hours, minutes, seconds, milliseconds or microseconds)", orig, key)
		}
		if seen[key] {
			return 0, fmt.Errorf("%q is not a duration: %s appears twice", orig, key)
		}
		seen[key] = true
		n, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return 0, fmt.Errorf("%q is not a duration: %q is not a number", orig, strings.TrimSpace(val))
		}
		total += n * float64(unit)
	}
	if len(seen) == 0 {
		return 0, fmt.Errorf("%q is not a duration (%s)", orig, durationHint)
	}
	// float64(MaxInt64) rounds up to 2^63, so >= is the overflow test.
	if total >= math.MaxInt64 || total < math.MinInt64 {
		return 0, fmt.Errorf("%q is too long a duration", orig)
	}
	return time.Duration(math.Round(total)), nil
}
