package search

import (
	"os"
	"testing"
)

// TestMain removes the shared corpus's index directory (hundreds of MB
// over a few runs on a shared machine) when the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.svc != nil {
		shared.svc.Close()
		os.RemoveAll(shared.svc.opts.Dir)
	}
	os.Exit(code)
}
