package examples_test

import (
	"testing"

	"greenroom/examples"
)

// The demo must load cleanly and pass every check.
func TestDemoCatalog(t *testing.T) {
	c, errs := load(examples.FS, examples.Root)
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, chk := range checks {
		t.Run(chk.name, func(t *testing.T) {
			for _, err := range chk.fn(c) {
				t.Error(err)
			}
		})
	}
}

var checks = []struct {
	name string
	fn   func(*catalog) []error
}{
	{"files", checkFiles},
	{"envelope", checkEnvelope},
	{"spec", checkSpec},
	{"references", checkRefs},
	{"group tree", checkGroups},
	{"service annotations", checkServiceAnnotations},
	{"no loose ends", checkLooseEnds},
	{"API definitions", checkDefinitions},
}

func runChecks(c *catalog) []error {
	var errs []error
	for _, chk := range checks {
		errs = append(errs, chk.fn(c)...)
	}
	return errs
}
