package examples_test

import (
	"fmt"
	"net/url"
	"strings"
)

// serviceAnnotations are the annotations every Component of type service
// carries in Greenroom's data model, each with a check of its value.
var serviceAnnotations = []struct {
	key   string
	valid func(string) bool
}{
	{"github.com/project-slug", slugRE.MatchString},
	{"argocd/app-name", func(v string) bool { return validName(v) && strings.HasSuffix(v, "-prod") }},
	{"datadog/dashboard-url", func(v string) bool {
		u, err := url.Parse(v)
		return err == nil && u.Scheme == "https" && u.Host == "app.datadoghq.com" && strings.HasPrefix(u.Path, "/dashboard/")
	}},
	{"sentry/project-slug", slugRE.MatchString},
	{"opencost/service-label", validName},
	{"n8n/workflows", func(v string) bool {
		for w := range strings.SplitSeq(v, ",") {
			if !validName(w) {
				return false
			}
		}
		return true
	}},
}

func checkServiceAnnotations(c *catalog) []error {
	var errs []error
	for _, e := range c.entities {
		if e.Kind != "Component" || e.Spec["type"] != "service" {
			continue
		}
		for _, a := range serviceAnnotations {
			v, ok := e.Metadata.Annotations[a.key].(string)
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("%v: service lacks annotation %s", e, a.key))
			case !a.valid(v):
				errs = append(errs, fmt.Errorf("%v: annotation %s: %q is malformed", e, a.key, v))
			}
		}
		if v := str(e.Metadata.Annotations["backstage.io/source-location"]); !strings.HasPrefix(v, "url:https://github.com/acme-ledger/") {
			errs = append(errs, fmt.Errorf("%v: backstage.io/source-location %q does not point into the acme-ledger GitHub organisation", e, v))
		}
	}
	return errs
}
