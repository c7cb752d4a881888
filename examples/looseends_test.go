package examples_test

import (
	"fmt"
)

// checkLooseEnds: every API is provided by a Component, every Resource is
// depended on, every System has Components and every Domain has Systems.
func checkLooseEnds(c *catalog) []error {
	used := map[string]map[*entity]bool{"providesApis": {}, "dependsOn": {}, "system": {}, "domain": {}}
	for _, e := range c.entities {
		for field, set := range used {
			if field == "system" && e.Kind != "Component" {
				continue
			}
			for _, t := range c.related(e, field) {
				set[t] = true
			}
		}
	}
	var errs []error
	for _, e := range c.entities {
		switch {
		case e.Kind == "API" && !used["providesApis"][e]:
			errs = append(errs, fmt.Errorf("%v is provided by no Component", e))
		case e.Kind == "Resource" && !used["dependsOn"][e]:
			errs = append(errs, fmt.Errorf("%v: nothing depends on it", e))
		case e.Kind == "System" && !used["system"][e]:
			errs = append(errs, fmt.Errorf("%v has no Components", e))
		case e.Kind == "Domain" && !used["domain"][e]:
			errs = append(errs, fmt.Errorf("%v has no Systems", e))
		}
	}
	return errs
}
