package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"greenroom/internal/greenroom"
)

// openPostgres opens a pgx pool and waits, retrying with exponential
// backoff for at most timeout, until the server answers.
func openPostgres(ctx context.Context, dsn string, timeout time.Duration, log *slog.Logger) (*Store, error) {
	if dsn == "" {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "PostgreSQL DSN is empty")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgconn's message repeats the DSN (password masked); its cause
		// alone says what is wrong without it.
		cause := errors.Unwrap(err)
		if cause == nil {
			cause = err
		}
		return nil, &greenroom.Error{Code: greenroom.CodeInvalid, Message: "invalid PostgreSQL DSN", Err: cause}
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	db := stdlib.OpenDB(*cfg)
	// Room for the HTTP handlers and job workers of one replica; several
	// replicas times this must stay under the server's max_connections.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// Recycle connections so fail-overs and pgbouncer rebalancing are
	// picked up, and server-side memory does not creep.
	db.SetConnMaxLifetime(time.Hour)

	if err := connect(ctx, addr, timeout, log, db.PingContext); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	log.Debug("postgres connected", "addr", addr)
	return &Store{d: postgresDialect, read: db, write: db, log: log}, nil
}

// connect calls ping until it succeeds, fails permanently, or timeout
// passes. The error is one line naming the address, never the DSN (which
// may hold a password).
func connect(ctx context.Context, addr string, timeout time.Duration, log *slog.Logger, ping func(context.Context) error) error {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error // the most telling failure: a deadline says less than "connection refused"
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 2 * time.Second
	_, err := backoff.Retry(tctx, func() (struct{}, error) {
		err := ping(tctx)
		if err == nil {
			return struct{}{}, nil
		}
		if last == nil || !errors.Is(err, context.DeadlineExceeded) {
			last = err
		}
		if !retryable(err) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	},
		backoff.WithBackOff(b),
		// Keep trying until tctx's deadline rather than stopping when the
		// next wait would overshoot it, so "after 15s" is true.
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, next time.Duration) {
			log.Warn("database not reachable yet", "addr", addr, "retry_in", next, "err", err)
		}),
	)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil { // the caller gave up, not the timeout
		return fmt.Errorf("store: connect to database %s: %w", addr, context.Cause(ctx))
	}
	if last == nil {
		last = err
	}
	var pgErr *pgconn.PgError
	if errors.As(last, &pgErr) {
		return &greenroom.Error{
			Code:    greenroom.CodeUnavailable,
			Message: "database " + addr + " refused the connection",
			Err:     fmt.Errorf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code),
		}
	}
	return &greenroom.Error{
		Code:    greenroom.CodeUnavailable,
		Message: fmt.Sprintf("database %s unreachable after %s", addr, timeout),
		Err:     rootCause(last),
	}
}

// retryable reports whether a connection failure may go away by itself:
// network errors and a server starting up or full, but not a rejected
// password or a missing database.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P03", // cannot_connect_now: starting up or shutting down
			"53300": // too_many_connections
			return true
		}
		return false
	}
	return true
}

// rootCause returns the innermost error of err's chain ("connection
// refused" rather than pgconn's long wrapper), and names a deadline plainly.
func rootCause(err error) error {
	for {
		var next error
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			next = u.Unwrap()
		case interface{ Unwrap() []error }:
			if errs := u.Unwrap(); len(errs) > 0 {
				next = errs[0]
			}
		}
		if next == nil {
			break
		}
		err = next
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("timed out")
	}
	return err
}
