package sqlstore

// SetEventDeleteBatch shrinks the retention batch so a test can cross
// several batches with a few rows; it returns the restore function.
func SetEventDeleteBatch(n int) (restore func()) {
	old := eventDeleteBatch
	eventDeleteBatch = n
	return func() { eventDeleteBatch = old }
}
