package catalog

// NextRun exposes nextRun to the external tests.
var NextRun = nextRun

// SetSourceBatch sets how many entities a source is written in per
// transaction, until the test ends.
func SetSourceBatch(t interface{ Cleanup(func()) }, n int) {
	old := sourceBatch
	sourceBatch = n
	t.Cleanup(func() { sourceBatch = old })
}
