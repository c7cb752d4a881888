package config

import (
	"strings"
	"testing"
	"time"
)

func TestCatalogProcessingKeys(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		strategy string
		interval time.Duration
		problem  string // part of the one error expected, "" for none
	}{
		{"defaults", "catalog: {}\n", "delete", 60 * time.Second, ""},
		{"keep", "catalog: {orphanStrategy: keep}\n", "keep", 60 * time.Second, ""},
		{"unknown strategy", "catalog: {orphanStrategy: purge}\n", "delete", 60 * time.Second,
			`catalog.orphanStrategy: expected one of keep, delete, got "purge"`},
		{"object", "catalog: {processingInterval: {minutes: 2, seconds: 30}}\n", "delete", 150 * time.Second, ""},
		{"ISO 8601", "catalog: {processingInterval: PT45S}\n", "delete", 45 * time.Second, ""},
		{"ms string", "catalog: {processingInterval: 5 minutes}\n", "delete", 5 * time.Minute, ""},
		{"false disables", "catalog: {processingInterval: false}\n", "delete", 0, ""},
		{"true is not a duration", "catalog: {processingInterval: true}\n", "delete", 60 * time.Second,
			"catalog.processingInterval: expected a duration of at least 1 second, or false, got true"},
		{"under a second", "catalog: {processingInterval: {milliseconds: 500}}\n", "delete", 60 * time.Second,
			"catalog.processingInterval: expected a duration of at least 1 second, or false"},
		{"bad unit", "catalog: {processingInterval: {minuts: 1}}\n", "delete", 60 * time.Second,
			"catalog.processingInterval: unknown property 'minuts'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r, _ := Load(LoadOptions{Files: []string{writeConfig(t, "app-config.yaml", tt.yaml)}, LookupEnv: noEnv})
			errs := lines(r, SeverityError)
			switch {
			case tt.problem == "" && len(errs) > 0:
				t.Errorf("problems %v", errs)
			case tt.problem != "" && (len(errs) != 1 || !strings.Contains(errs[0], tt.problem)):
				t.Errorf("problems %v, want one with %q", errs, tt.problem)
			}
			if c.Catalog.OrphanStrategy != tt.strategy || c.Catalog.ProcessingInterval != tt.interval {
				t.Errorf("strategy %q, interval %v; want %q, %v", c.Catalog.OrphanStrategy, c.Catalog.ProcessingInterval, tt.strategy, tt.interval)
			}
			if w := lines(r, SeverityInfo); tt.problem == "" && len(w) > 0 {
				t.Errorf("the keys are reported as ignored or unknown: %v", w)
			}
		})
	}
}

func TestCatalogProcessingValidateInCode(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Catalog.OrphanStrategy = "purge"
	c.Catalog.ProcessingInterval = time.Millisecond
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "catalog.orphanStrategy") || !strings.Contains(err.Error(), "catalog.processingInterval") {
		t.Errorf("Validate: %v", err)
	}
}
