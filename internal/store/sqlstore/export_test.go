package sqlstore

import "context"

// SetEventDeleteBatch shrinks the retention batch so a test can cross
// several batches with a few rows; it returns the restore function.
func SetEventDeleteBatch(n int) (restore func()) {
	old := eventDeleteBatch
	eventDeleteBatch = n
	return func() { eventDeleteBatch = old }
}

// MigrateTo applies the migrations up to version, so a test can fill the
// schema a migration starts from.
func (s *DB) MigrateTo(ctx context.Context, version int64) error { return s.migrateTo(ctx, version) }

// IdentityKeysVersion is the migration that introduced username_key and email_key.
const IdentityKeysVersion = identityKeysVersion
