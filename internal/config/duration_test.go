package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"90s", 90 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"250ms", 250 * time.Millisecond},
		{" 10 ", 10 * time.Second},
		{"0", 0},
		{"86400", 24 * time.Hour},
		{"days=1", 24 * time.Hour},
		{"hours=2;minutes=30", 150 * time.Minute},
		{"hours=2; minutes=30;", 150 * time.Minute},
		{"Seconds=0", 0},
		{"weeks=1", 7 * 24 * time.Hour},
		{"hours=1.5", 90 * time.Minute},
		{"milliseconds=5;microseconds=7", 5*time.Millisecond + 7*time.Microsecond},
		{"minutes=-5", -5 * time.Minute},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q): expected %v, got %v (error %v)", tc.in, tc.want, got, err)
		}
	}
}

func TestParseDurationRejects(t *testing.T) {
	for _, tc := range []struct{ in, wantErr string }{
		{"", "empty duration"},
		{"soon", `"soon" is not a duration (use Go syntax`},
		{"1d", `"1d" is not a duration`},
		{"fortnights=1", `unknown unit "fortnights"`},
		{"days=one", `"one" is not a number`},
		{"days=1;days=2", "days appears twice"},
		{"days=1;hours", `"hours" is not unit=value`},
		{";", `";" is not a duration`},
		{"days=NaN", `"NaN" is not a number`},
		{"weeks=100000", "too long a duration"},
		{"9223372036854775807", "too long a duration"},
	} {
		_, err := ParseDuration(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseDuration(%q): expected an error containing %q, got %v", tc.in, tc.wantErr, err)
		}
	}
}
