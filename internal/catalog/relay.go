package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync/atomic"
)

// Relay carries messages between the replicas that share a database (the
// store's PostgreSQL NOTIFY/LISTEN). Delivery is best effort: a replica
// that misses a message still converges on its next scheduled refresh.
type Relay interface {
	Notify(ctx context.Context, channel, payload string) error
	Listen(ctx context.Context, channel string, ready func(), fn func(payload string)) error
}

// EventChannel is the relay channel of catalog change events.
const EventChannel = "greenroom_catalog_events"

// Bounds of the relay.
const (
	// relayQueue is how many batches may wait to be sent; more are dropped
	// (and counted) so that a slow database never holds up processing.
	relayQueue = 256
	// relayPayload is the largest message sent, under PostgreSQL's 8000
	// byte NOTIFY limit; bigger batches are split.
	relayPayload = 7800
)

// relayMessage is one NOTIFY payload.
type relayMessage struct {
	Origin string  `json:"o"`
	Events []Event `json:"e"`
}

// RelayStats counts what the relay did since it started.
type RelayStats struct {
	Sent, Received, Dropped, Failed uint64
}

type relayState struct {
	sent, received, dropped, failed atomic.Uint64
}

// RelayEvents shares change events with the other replicas through r until
// ctx is done: events this replica publishes are sent, and events others
// send are delivered to this replica's subscribers (never sent on again).
// ready, when not nil, is called each time the listener is in place. It
// returns at once; the work runs in the background.
func (s *Service) RelayEvents(ctx context.Context, r Relay, ready func()) RelayStatsFunc {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	origin := hex.EncodeToString(id)
	st := &relayState{}
	queue := make(chan []Event, relayQueue)
	send := func(evs []Event) {
		select {
		case queue <- evs:
		default:
			st.dropped.Add(uint64(len(evs)))
		}
	}
	s.events.relay.Store(&send)
	context.AfterFunc(ctx, func() { s.events.relay.CompareAndSwap(&send, nil) })

	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evs := <-queue:
				payloads, skipped := relayPayloads(origin, evs)
				st.dropped.Add(uint64(skipped))
				for _, payload := range payloads {
					if err := r.Notify(ctx, EventChannel, payload); err != nil {
						st.failed.Add(1)
						if ctx.Err() == nil {
							s.logger.Warn("catalog events not relayed to other replicas", "err", err)
						}
						continue
					}
					st.sent.Add(1)
				}
			}
		}
	}()
	go func() {
		err := r.Listen(ctx, EventChannel, ready, func(payload string) {
			var m relayMessage
			if err := json.Unmarshal([]byte(payload), &m); err != nil {
				s.logger.Warn("malformed catalog event from another replica", "err", err)
				return
			}
			if m.Origin == origin || len(m.Events) == 0 {
				return
			}
			st.received.Add(uint64(len(m.Events)))
			s.events.deliver(m.Events)
		})
		if err != nil {
			s.logger.Error("catalog events from other replicas not received", "err", err)
		}
	}()
	return func() RelayStats {
		return RelayStats{Sent: st.sent.Load(), Received: st.received.Load(), Dropped: st.dropped.Load(), Failed: st.failed.Load()}
	}
}

// RelayStatsFunc reads the relay's counters.
type RelayStatsFunc func() RelayStats

// relayPayloads splits evs into messages under relayPayload bytes each.
// An event too big on its own (it never is: refs and etags are bounded) is
// skipped and counted.
func relayPayloads(origin string, evs []Event) (out []string, skipped int) {
	var batch []Event
	flush := func() {
		if len(batch) == 0 {
			return
		}
		b, _ := json.Marshal(relayMessage{Origin: origin, Events: batch})
		out = append(out, string(b))
		batch = nil
	}
	size := len(origin) + 16
	for _, ev := range evs {
		b, _ := json.Marshal(ev)
		if len(b)+size+1 > relayPayload && len(batch) > 0 {
			flush()
			size = len(origin) + 16
		}
		if len(b)+len(origin)+16 > relayPayload {
			skipped++
			continue
		}
		batch = append(batch, ev)
		size += len(b) + 1
	}
	flush()
	return out, skipped
}
