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
	f, ok := w.(*os.File)
	if !ok {
		logger, err = newLogger(w, format, level)
		return logger, func() error { return nil }, err
	}
	sink := server.NewLineSink(f)
	if logger, err = newLogger(sink, format, level); err != nil {
		return nil, nil, err
	}
	return slog.New(server.FlushOnWarn(logger.Handler(), sink)), sink.Close, nil
}
