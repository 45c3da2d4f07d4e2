package store

import "time"

// Times are stored as BIGINT Unix microseconds, on both engines and in
// every table in the store's database, the job queue's included: one
// integer compares, sorts and indexes alike on SQLite and PostgreSQL,
// where SQLite has no time type and the drivers would each convert
// TIMESTAMP values their own way. Microseconds are what PostgreSQL keeps;
// a time written and read back compares equal once truncated to them.
// These two functions are the codec, so that no package writes its own.

// Micros encodes t for a BIGINT time column; the zero time is 0 ("never").
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// FromMicros decodes a BIGINT time column, in UTC; 0 is the zero time.
func FromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
