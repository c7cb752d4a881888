package cli

import (
	"os"
	"strings"
	"testing"
)

func TestServeLoggerBuffersOnlyOSFiles(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	logger, closeLog, err := newServeLogger(f, "text", "info")
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("held")
	if b, _ := os.ReadFile(f.Name()); len(b) != 0 {
		t.Errorf("a file got %q at once, want it batched", b)
	}
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f.Name()); !strings.Contains(string(b), "msg=held") {
		t.Errorf("after close the file holds %q", b)
	}

	var w strings.Builder
	logger, closeLog, err = newServeLogger(&w, "text", "info")
	if err != nil {
		t.Fatal(err)
	}
	defer closeLog()
	logger.Info("direct")
	if out := w.String(); !strings.Contains(out, "msg=direct") {
		t.Errorf("a buffer got %q, want the line at once", out)
	}
}
