package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Cross-replica messages. Several replicas share one PostgreSQL database;
// what one commits the others learn through NOTIFY/LISTEN, so no broker is
// needed. SQLite is owned by one process (the data dir lock), so there is
// no one to tell: Notify does nothing and Listen waits for ctx.

// MaxNotifyPayload is the largest payload Notify sends: PostgreSQL refuses
// NOTIFY payloads of 8000 bytes or more.
const MaxNotifyPayload = 7900

var channelRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ErrPayloadTooLarge is returned by Notify for a payload over
// MaxNotifyPayload bytes.
var ErrPayloadTooLarge = errors.New("store: notify payload too large")

// Notify sends payload to every replica listening on channel (a lowercase
// identifier). Delivery is at most once and only to replicas listening at
// the time: listeners must treat it as a hint and recover from missed
// messages (re-read) rather than rely on it.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if !channelRE.MatchString(channel) {
		return fmt.Errorf("store: notify channel %q is not a lowercase identifier", channel)
	}
	if len(payload) > MaxNotifyPayload {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrPayloadTooLarge, len(payload), MaxNotifyPayload)
	}
	if s.d.name != DriverPostgres {
		return nil
	}
	if _, err := s.write.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, payload); err != nil {
		return fmt.Errorf("store: notify %s: %w", channel, err)
	}
	return nil
}

// Listen calls fn with each payload received on channel, in order, until
// ctx is done; then it returns nil. It holds one connection of the pool
// and reconnects with backoff when the connection drops; ready, when not
// nil, is called each time the LISTEN is in place (so callers and tests
// know from when messages are received). On SQLite it only waits for ctx.
func (s *Store) Listen(ctx context.Context, channel string, ready func(), fn func(payload string)) error {
	if !channelRE.MatchString(channel) {
		return fmt.Errorf("store: listen channel %q is not a lowercase identifier", channel)
	}
	if s.d.name != DriverPostgres {
		<-ctx.Done()
		return nil
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 200 * time.Millisecond
	b.MaxInterval = 10 * time.Second
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, channel, func() {
			b.Reset()
			if ready != nil {
				ready()
			}
		}, fn)
		if ctx.Err() != nil {
			return nil
		}
		wait := b.NextBackOff()
		s.log.Warn("listen connection lost; reconnecting", "channel", channel, "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	return nil
}

func (s *Store) listenOnce(ctx context.Context, channel string, ready func(), fn func(string)) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: listen: driver connection is %T, not pgx", dc)
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+channel); err != nil {
			return err
		}
		// The connection goes back to the pool afterwards: leave it as
		// any other.
		defer func() {
			uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if _, err := pc.Exec(uctx, "UNLISTEN "+channel); err != nil {
				_ = pc.Close(uctx) // a broken connection is not reused
			}
		}()
		ready()
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			if n.Channel == channel {
				fn(n.Payload)
			}
		}
	})
}
