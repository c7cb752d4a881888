package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// The server's log goes through a lineSink: one write system call per
// flush instead of one per line. Under load the access log is a line per
// request, and its write, made under the handler's lock, was the largest
// share of a cached read's CPU after the network itself (5 % of the server's
// CPU on a facet load at 17k requests/s, plus the requests queued on the
// lock). Lines reach the destination within sinkDelay, at once when
// sinkMaxBytes are waiting, and at once after a Warn or Error record (what an
// operator is waiting for, and a crash's last words, are not held back);
// Close flushes what is left.
const (
	sinkDelay    = 100 * time.Millisecond
	sinkMaxBytes = 64 << 10
)

type lineSink struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	timer  *time.Timer // flushes buf; armed while buf is not empty
	armed  bool
	closed bool
}

func newLineSink(w io.Writer) *lineSink { return &lineSink{w: w} }

// Write keeps p for the next flush; slog handlers write one whole record a
// call, so a flush never splits a line.
func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.w.Write(p)
	}
	s.buf = append(s.buf, p...)
	if len(s.buf) >= sinkMaxBytes {
		return len(p), s.flushLocked()
	}
	if !s.armed {
		s.armed = true
		if s.timer == nil {
			s.timer = time.AfterFunc(sinkDelay, func() { _ = s.Flush() })
		} else {
			s.timer.Reset(sinkDelay)
		}
	}
	return len(p), nil
}

// Flush writes what is waiting.
func (s *lineSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *lineSink) flushLocked() error {
	if s.armed {
		s.timer.Stop()
		s.armed = false
	}
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.w.Write(s.buf)
	if cap(s.buf) > 4*sinkMaxBytes {
		s.buf = nil // one burst of huge lines need not stay allocated
	} else {
		s.buf = s.buf[:0]
	}
	return err
}

// Close flushes and makes later writes go straight through.
func (s *lineSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.flushLocked()
	s.closed = true
	return err
}

// flushOnWarn flushes the sink after each record at Warn or above.
type flushOnWarn struct {
	slog.Handler
	sink *lineSink
}

func (h flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.sink.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushOnWarn) WithAttrs(as []slog.Attr) slog.Handler {
	return flushOnWarn{Handler: h.Handler.WithAttrs(as), sink: h.sink}
}

func (h flushOnWarn) WithGroup(name string) slog.Handler {
	return flushOnWarn{Handler: h.Handler.WithGroup(name), sink: h.sink}
}

// newServeLogger is serve's logger: over a lineSink when w is an OS file
// (standard error, a pipe, a log file), where batching saves system calls;
// straight to any other writer (a test's buffer, an embedding program's),
// whose readers expect each line once it is logged. close flushes.
func newServeLogger(w io.Writer, format, level string) (logger *slog.Logger, close func() error, err error) {
	if _, ok := w.(*os.File); !ok {
		logger, err = newLogger(w, format, level)
		return logger, func() error { return nil }, err
	}
	logger, sink, err := newBufferedLogger(w, format, level)
	if err != nil {
		return nil, nil, err
	}
	return logger, sink.Close, nil
}

// newBufferedLogger is newLogger over a lineSink of w; the caller closes
// the sink when it is done logging.
func newBufferedLogger(w io.Writer, format, level string) (*slog.Logger, *lineSink, error) {
	sink := newLineSink(w)
	l, err := newLogger(sink, format, level)
	if err != nil {
		return nil, nil, err
	}
	return slog.New(flushOnWarn{Handler: l.Handler(), sink: sink}), sink, nil
}
