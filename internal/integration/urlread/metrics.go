package urlread

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are always collected; they are exported only when
// Options.Registerer is set. Labels name the provider (github, gitlab,
// url), never the host or URL, so that their number stays bounded.
type metrics struct {
	reads    *prometheus.CounterVec
	attempts *prometheus.CounterVec
	duration *prometheus.HistogramVec
	opens    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, r *Reader) *metrics {
	m := &metrics{
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greenroom_urlread_reads_total",
			Help: "URL reads by provider and result (fetched, not_modified, stale, failed).",
		}, []string{"provider", "result"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greenroom_urlread_attempts_total",
			Help: "HTTP attempts of URL reads by provider and outcome (ok, not_modified, not_found, client_error, server_error, rate_limited, network, timeout, blocked, too_large, breaker_open).",
		}, []string{"provider", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "greenroom_urlread_attempt_duration_seconds",
			Help:    "How long one HTTP attempt of a URL read took, by provider.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"provider"}),
		opens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greenroom_urlread_breaker_opened_total",
			Help: "Times a host's circuit breaker opened, by provider.",
		}, []string{"provider"}),
	}
	if reg == nil {
		return m
	}
	m.reads = register(reg, m.reads)
	m.attempts = register(reg, m.attempts)
	m.duration = register(reg, m.duration)
	m.opens = register(reg, m.opens)
	register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "greenroom_urlread_cache_bytes",
		Help: "Bytes held by the URL reader's cache.",
	}, func() float64 { _, b := r.cache.size(); return float64(b) }))
	register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "greenroom_urlread_cache_entries",
		Help: "URLs held by the URL reader's cache.",
	}, func() float64 { n, _ := r.cache.size(); return float64(n) }))
	register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "greenroom_urlread_breaker_open_hosts",
		Help: "Hosts whose circuit breaker is open now.",
	}, func() float64 { return float64(r.breaker.open(r.now())) }))
	return m
}

func (m *metrics) attempt(provider, outcome string, took time.Duration) {
	m.attempts.WithLabelValues(provider, outcome).Inc()
	if took > 0 {
		m.duration.WithLabelValues(provider).Observe(took.Seconds())
	}
}

// register registers c, or returns the collector already registered under
// its name. A second Reader on one registry shares the counters; its gauges
// stay unregistered (the first Reader's are kept).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
		return c
	}
	panic("urlread: register metrics: " + err.Error())
}
