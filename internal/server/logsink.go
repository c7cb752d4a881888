package server

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Serve's log goes through a LineSink: one write system call per
// flush instead of one per line. Under load the access log is a line per
// request, and its write, made under the handler's lock, was the largest
// share of a cached read's CPU after the network itself (5 % of the server's
// CPU on a facet load at 17k requests/s, plus the requests queued on the
// lock). Lines reach the destination within SinkDelay, at once when
// SinkMaxBytes are waiting, and at once after a Warn or Error record (what an
// operator is waiting for, and a crash's last words, are not held back);
// Close flushes what is left.

// SinkDelay is how long a line may wait; SinkMaxBytes how much may.
const (
	SinkDelay    = 100 * time.Millisecond
	SinkMaxBytes = 64 << 10
)

// LineSink batches log lines for one destination.
type LineSink struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	timer  *time.Timer // flushes buf; armed while buf is not empty
	armed  bool
	closed bool
}

// NewLineSink returns a sink writing to w.
func NewLineSink(w io.Writer) *LineSink { return &LineSink{w: w} }

// Write keeps p for the next flush; slog handlers write one whole record a
// call, so a flush never splits a line.
func (s *LineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.w.Write(p)
	}
	s.buf = append(s.buf, p...)
	if len(s.buf) >= SinkMaxBytes {
		return len(p), s.flushLocked()
	}
	if !s.armed {
		s.armed = true
		if s.timer == nil {
			s.timer = time.AfterFunc(SinkDelay, func() { _ = s.Flush() })
		} else {
			s.timer.Reset(SinkDelay)
		}
	}
	return len(p), nil
}

// Flush writes what is waiting.
func (s *LineSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *LineSink) flushLocked() error {
	if s.armed {
		s.timer.Stop()
		s.armed = false
	}
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.w.Write(s.buf)
	if cap(s.buf) > 4*SinkMaxBytes {
		s.buf = nil // one burst of huge lines need not stay allocated
	} else {
		s.buf = s.buf[:0]
	}
	return err
}

// Close flushes and makes later writes go straight through.
func (s *LineSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.flushLocked()
	s.closed = true
	return err
}

// flushOnWarn flushes the sink after each record at Warn or above.
type flushOnWarn struct {
	slog.Handler
	sink *LineSink
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

// FlushOnWarn wraps h so that sink is flushed after each record at Warn or
// above; h writes to sink.
func FlushOnWarn(h slog.Handler, sink *LineSink) slog.Handler {
	return flushOnWarn{Handler: h, sink: sink}
}
