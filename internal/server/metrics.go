package server

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

type httpMetrics struct {
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	// observers caches duration's histograms by observerKey: looking one
	// up by its label values hashes them and formats the status each
	// request. It holds as many entries as duration has series.
	observers sync.Map
}

type observerKey struct {
	method, route string
	code          int
}

// observer returns the latency histogram of one method, route and status.
func (m *httpMetrics) observer(method, route string, code int) prometheus.Observer {
	k := observerKey{method, route, code}
	if o, ok := m.observers.Load(k); ok {
		return o.(prometheus.Observer)
	}
	o := m.duration.WithLabelValues(method, route, strconv.Itoa(code))
	m.observers.Store(k, o)
	return o
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "greenroom_http_request_duration_seconds",
			Help: "HTTP request latency by method, route pattern and status code.",
			// Fine buckets at the low end: the catalog's targets are in
			// single milliseconds.
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "greenroom_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.duration, m.inFlight)
	}
	return m
}
