package search

import (
	"os"
	"testing"
)

// TestMain removes the shared corpus's index directory (tens of MB a run
// on a shared machine) when the tests are done. The corpus service runs
// until the process ends (its feeds are never cancelled), so it is not
// closed first.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.svc != nil {
		os.RemoveAll(shared.svc.opts.Dir)
	}
	os.Exit(code)
}
