package store

import (
	"testing"
	"time"
)

func TestMicrosRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	for _, c := range []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"zero is never", time.Time{}, time.Time{}},
		{"truncated to microseconds, in UTC", at, at.UTC().Truncate(time.Microsecond)},
		{"before 1970", time.Date(1960, 1, 1, 0, 0, 0, 1000, time.UTC), time.Date(1960, 1, 1, 0, 0, 0, 1000, time.UTC)},
	} {
		got := FromMicros(Micros(c.in))
		if !got.Equal(c.want) || got.Location() != time.UTC && !got.IsZero() {
			t.Errorf("%s: FromMicros(Micros(%v)) = %v, want %v in UTC", c.name, c.in, got, c.want)
		}
	}
	if Micros(time.Time{}) != 0 {
		t.Errorf("Micros(zero time) = %d, want 0", Micros(time.Time{}))
	}
}
