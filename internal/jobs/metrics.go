package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are always collected; they are exported only when
// Options.Registerer is set.
type metrics struct {
	processed *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	running   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, counts func(context.Context) (map[string]int, error)) *metrics {
	m := &metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greenroom_jobs_processed_total",
			Help: "Jobs run to an outcome, by kind and result (done, retry, failed, released, lost).",
		}, []string{"kind", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "greenroom_job_duration_seconds",
			Help:    "How long job handlers ran, by kind.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900},
		}, []string{"kind"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "greenroom_jobs_running",
			Help: "Job handlers running now.",
		}),
	}
	if reg != nil {
		m.processed = register(reg, m.processed)
		m.duration = register(reg, m.duration)
		m.running = register(reg, m.running)
		register(reg, newQueueCollector(counts))
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name, so that several pools in one process share one set of metrics.
// A different collector under the same name is a programming error.
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
	}
	panic("jobs: register metrics: " + err.Error())
}

// queueCollector reports the jobs table by state at each scrape, so the
// backlog is visible across replicas, not just this pool's own work.
type queueCollector struct {
	counts func(ctx context.Context) (map[string]int, error)
	desc   *prometheus.Desc
}

func newQueueCollector(counts func(ctx context.Context) (map[string]int, error)) *queueCollector {
	return &queueCollector{counts: counts, desc: prometheus.NewDesc("greenroom_jobs",
		"Jobs in the jobs table by state (all replicas).", []string{"state"}, nil)}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.counts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
}
