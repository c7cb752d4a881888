package config

import (
	"slices"
	"strconv"
	"time"
)

// The catalog processing keys' defaults.
const (
	// DefaultOrphanStrategy is catalog.orphanStrategy when not set: delete,
	// Backstage's default since v1.41 (earlier releases kept orphans).
	DefaultOrphanStrategy = "delete"
	// DefaultProcessingInterval is catalog.processingInterval when not set.
	DefaultProcessingInterval = 60 * time.Second
)

// orphanStrategies are the values of catalog.orphanStrategy.
var orphanStrategies = []string{"keep", "delete"}

// processingInterval reads catalog.processingInterval as Backstage does: a
// duration (object of units, ms-style or ISO 8601 string) of at least one
// second, or false, which disables scheduled processing (zero).
func (d *decoder) processingInterval(n *node, dst *time.Duration) {
	const path = "catalog.processingInterval"
	if !set(n) {
		return
	}
	if n.kind == kindBool || n.kind == kindString && (n.s == "true" || n.s == "false") {
		if v, ok := d.boolean(n, path); ok && !v {
			*dst = 0
			return
		}
		d.ps.expected(n.pos, path, "a duration of at least 1 second, or false", n)
		return
	}
	var v time.Duration
	if d.duration(n, path, &v); v == 0 && d.failedAt(path) {
		return
	}
	if v < time.Second {
		d.ps.expected(n.pos, path, "a duration of at least 1 second, or false", n)
		return
	}
	*dst = v
}

// failedAt reports whether a problem was recorded for path.
func (d *decoder) failedAt(path string) bool {
	return slices.ContainsFunc(d.ps.list, func(p Problem) bool { return p.Path == path })
}

// catalogProcessingProblems checks the two keys in configs built in code.
func (c *Config) catalogProcessingProblems() []Problem {
	var ps []Problem
	if !slices.Contains(orphanStrategies, c.Catalog.OrphanStrategy) {
		ps = append(ps, Problem{Severity: SeverityError, Path: "catalog.orphanStrategy", Expected: "one of keep, delete",
			Message: "expected one of keep, delete, got " + strconv.Quote(c.Catalog.OrphanStrategy)})
	}
	if v := c.Catalog.ProcessingInterval; v != 0 && v < time.Second {
		ps = append(ps, Problem{Severity: SeverityError, Path: "catalog.processingInterval", Expected: "a duration of at least 1 second, or 0 (disabled)",
			Message: "expected a duration of at least 1 second, or 0 (disabled), got " + v.String()})
	}
	return ps
}
