package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter records each Write call.
type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

func (w *countingWriter) state() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String(), w.writes
}

// newTestLogger logs at Info and above through a LineSink of w, as serve's
// logger does.
func newTestLogger(w io.Writer, format string) (*slog.Logger, *LineSink) {
	sink := NewLineSink(w)
	var h slog.Handler = slog.NewTextHandler(sink, nil)
	if format == "json" {
		h = slog.NewJSONHandler(sink, nil)
	}
	return slog.New(FlushOnWarn(h, sink)), sink
}

func TestLineSinkBatchesLines(t *testing.T) {
	w := &countingWriter{}
	logger, sink := newTestLogger(w, "text")
	defer sink.Close()
	for i := range 50 {
		logger.Info("http request", "n", i)
	}
	if out, n := w.state(); n != 0 || out != "" {
		t.Fatalf("lines were written at once (%d writes), want them held for up to %s", n, SinkDelay)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, n := w.state()
		if out != "" {
			if n != 1 {
				t.Errorf("50 lines took %d writes, want 1", n)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 50 {
				t.Fatalf("got %d lines, want 50:\n%s", len(lines), out)
			}
			for i, l := range lines {
				if !strings.HasSuffix(l, fmt.Sprintf("n=%d", i)) {
					t.Fatalf("line %d is %q: out of order", i, l)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing written %s after the lines (delay %s)", 5*time.Second, SinkDelay)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The timer re-arms for the next batch.
	logger.Info("later")
	for deadline = time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if out, n := w.state(); strings.Contains(out, "msg=later") {
			if n != 2 {
				t.Errorf("%d writes after the second batch, want 2", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second batch was never flushed")
		}
	}
}

func TestLineSinkFlushesAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  func(t *testing.T, w *countingWriter) (want string)
	}{
		{"an error record", func(t *testing.T, w *countingWriter) string {
			logger, _ := newTestLogger(w, "json")
			logger.Info("before")
			logger.Error("disk full")
			return `"msg":"disk full"`
		}},
		{"a warning", func(t *testing.T, w *countingWriter) string {
			logger, _ := newTestLogger(w, "text")
			logger.With("component", "config").Warn("restart needed")
			return `msg="restart needed" component=config`
		}},
		{"a full buffer", func(t *testing.T, w *countingWriter) string {
			logger, _ := newTestLogger(w, "text")
			long := strings.Repeat("x", 1000)
			for range SinkMaxBytes/1000 + 1 {
				logger.Info("bulk", "v", long)
			}
			return "msg=bulk"
		}},
		{"close", func(t *testing.T, w *countingWriter) string {
			logger, sink := newTestLogger(w, "text")
			logger.Info("last words")
			if err := sink.Close(); err != nil {
				t.Fatal(err)
			}
			logger.Info("after close") // passes straight through
			return "msg=\"after close\""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &countingWriter{}
			want := tc.log(t, w)
			if out, _ := w.state(); !strings.Contains(out, want) {
				t.Fatalf("output %q lacks %q right after logging", out, want)
			}
		})
	}
}

func TestLineSinkKeepsConcurrentLinesWhole(t *testing.T) {
	w := &countingWriter{}
	logger, sink := newTestLogger(w, "text")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				logger.Info("req", "g", g, "i", i, "pad", strings.Repeat("p", 200))
			}
		})
	}
	wg.Wait()
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	out, writes := w.state()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("got %d lines, want %d", len(lines), 8*500)
	}
	next := map[string]int{}
	for _, l := range lines {
		var g, i int
		if _, err := fmt.Sscanf(l[strings.Index(l, " g=")+1:], "g=%d i=%d", &g, &i); err != nil {
			t.Fatalf("line %q is not whole: %v", l, err)
		}
		key := fmt.Sprint(g)
		if i != next[key] {
			t.Fatalf("goroutine %d: line %d came where %d was due", g, i, next[key])
		}
		next[key]++
	}
	if writes > len(lines)/10 {
		t.Errorf("%d writes for %d lines, want them batched", writes, len(lines))
	}
}
