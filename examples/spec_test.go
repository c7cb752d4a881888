package examples_test

import (
	"fmt"
	"slices"
	"strings"
)

// checkSpec: the spec fields each kind requires are present and well typed.
// System is required of Components, APIs and Resources and domain of
// Systems: Backstage does not insist, but the demo leaves nothing loose.
func checkSpec(c *catalog) []error {
	lifecycles := []string{"production", "experimental", "deprecated"}
	type rule struct {
		field string
		list  bool     // a list of strings, possibly empty
		oneOf []string // for strings; nil allows any non-empty string
	}
	rules := map[string][]rule{
		"Component": {{field: "type"}, {field: "lifecycle", oneOf: lifecycles}, {field: "owner"}, {field: "system"}},
		"API":       {{field: "type", oneOf: []string{"openapi", "asyncapi", "graphql", "grpc"}}, {field: "lifecycle", oneOf: lifecycles}, {field: "owner"}, {field: "system"}},
		"Resource":  {{field: "type"}, {field: "owner"}, {field: "system"}},
		"System":    {{field: "owner"}, {field: "domain"}},
		"Domain":    {{field: "owner"}},
		"Group":     {{field: "type"}, {field: "children", list: true}},
		"User":      {{field: "memberOf", list: true}},
	}
	var errs []error
	for _, e := range c.entities {
		for _, r := range rules[e.Kind] {
			v, ok := e.Spec[r.field]
			if !ok {
				errs = append(errs, fmt.Errorf("%v: spec.%s is missing", e, r.field))
				continue
			}
			if r.list {
				if _, err := strList(v); err != nil {
					errs = append(errs, fmt.Errorf("%v: spec.%s: %w", e, r.field, err))
				}
				continue
			}
			s, ok := v.(string)
			switch {
			case !ok || s == "":
				errs = append(errs, fmt.Errorf("%v: spec.%s is %#v, want a non-empty string", e, r.field, v))
			case r.oneOf != nil && !slices.Contains(r.oneOf, s):
				errs = append(errs, fmt.Errorf("%v: spec.%s is %q, want one of %v", e, r.field, s, r.oneOf))
			}
		}
		switch e.Kind {
		case "API":
			if d := e.Spec["definition"]; str(d) == "" && textTarget(d) == "" {
				errs = append(errs, fmt.Errorf("%v: spec.definition must be a string or a $text placeholder", e))
			}
		case "User", "Group":
			p, _ := e.Spec["profile"].(map[string]any)
			if str(p["displayName"]) == "" {
				errs = append(errs, fmt.Errorf("%v: spec.profile.displayName is missing", e))
			}
			if email := str(p["email"]); strings.Count(email, "@") != 1 || !strings.HasSuffix(email, ".example") {
				errs = append(errs, fmt.Errorf("%v: spec.profile.email %q is not an address under a reserved .example domain", e, email))
			}
		}
	}
	return errs
}
