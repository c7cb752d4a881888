package cli

import (
	"io"
	"log/slog"
	"os"

	"greenroom/internal/server"
)

// newServeLogger is serve's logger: over a server.LineSink when w is an OS file
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

// newBufferedLogger is newLogger over a server.LineSink of w; the caller closes
// the sink when it is done logging.
func newBufferedLogger(w io.Writer, format, level string) (*slog.Logger, *server.LineSink, error) {
	sink := server.NewLineSink(w)
	l, err := newLogger(sink, format, level)
	if err != nil {
		return nil, nil, err
	}
	return slog.New(server.FlushOnWarn(l.Handler(), sink)), sink, nil
}
