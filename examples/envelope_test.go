package examples_test

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

var (
	// Backstage's KubernetesValidatorFunctions.isValidObjectName, used for
	// metadata.name and label values, with the 1..63 length limit.
	nameRE = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	// Namespaces are DNS labels.
	namespaceRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	// Tags: sequences of [a-z0-9+#] separated by '-', at most 63 characters.
	// (Recent Backstage versions also accept ':'; the demo does without.)
	tagRE = regexp.MustCompile(`^[a-z0-9+#]+(-[a-z0-9+#]+)*$`)
	// Label and annotation keys: an optional DNS-subdomain prefix and '/',
	// then [a-zA-Z0-9] sequences separated by one of [-_.].
	keyPrefixRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	keyNameRE   = regexp.MustCompile(`^[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*$`)
	// The demo's GitHub organisation, in project slugs.
	slugRE = regexp.MustCompile(`^acme-ledger/[a-z0-9]+(-[a-z0-9]+)*$`)

	knownKinds = []string{"Component", "API", "Resource", "System", "Domain", "Group", "User", "Location"}
)

func validName(s string) bool { return len(s) <= 63 && nameRE.MatchString(s) }

func validKey(k string) bool {
	prefix, name, hasPrefix := strings.Cut(k, "/")
	if !hasPrefix {
		name = prefix
	} else if len(prefix) > 253 || !keyPrefixRE.MatchString(prefix) {
		return false
	}
	return len(name) <= 63 && keyNameRE.MatchString(name)
}

// checkEnvelope: apiVersion, kind and metadata follow Backstage's rules, and
// names are unique per kind and namespace, ignoring case as Backstage does.
func checkEnvelope(c *catalog) []error {
	var errs []error
	seen := map[ref]*entity{}
	for _, e := range c.entities {
		if e.APIVersion != "backstage.io/v1alpha1" {
			errs = append(errs, fmt.Errorf("%v: apiVersion %q, want backstage.io/v1alpha1", e, e.APIVersion))
		}
		if !slices.Contains(knownKinds, e.Kind) {
			errs = append(errs, fmt.Errorf("%v: kind %q is not one of %v", e, e.Kind, knownKinds))
		}
		if !validName(e.Metadata.Name) {
			errs = append(errs, fmt.Errorf("%v: invalid metadata.name %q", e, e.Metadata.Name))
		}
		if ns := e.Metadata.Namespace; ns != "" && (len(ns) > 63 || !namespaceRE.MatchString(ns)) {
			errs = append(errs, fmt.Errorf("%v: invalid metadata.namespace %q", e, ns))
		}
		if e.Spec == nil {
			errs = append(errs, fmt.Errorf("%v: no spec", e))
		}
		if prev, dup := seen[e.ref()]; dup {
			errs = append(errs, fmt.Errorf("%v: duplicate of %v", e, prev))
		} else {
			seen[e.ref()] = e
		}
		tags := map[string]bool{}
		for _, tag := range e.Metadata.Tags {
			if len(tag) > 63 || !tagRE.MatchString(tag) {
				errs = append(errs, fmt.Errorf("%v: invalid tag %q", e, tag))
			}
			if tags[tag] {
				errs = append(errs, fmt.Errorf("%v: tag %q listed twice", e, tag))
			}
			tags[tag] = true
		}
		for _, k := range sortedKeys(e.Metadata.Labels) {
			v := e.Metadata.Labels[k]
			if s, ok := v.(string); !validKey(k) || !ok || (s != "" && !validName(s)) {
				errs = append(errs, fmt.Errorf("%v: invalid label %s: %v (%T)", e, k, v, v))
			}
		}
		for _, k := range sortedKeys(e.Metadata.Annotations) {
			v := e.Metadata.Annotations[k]
			if _, ok := v.(string); !validKey(k) || !ok {
				errs = append(errs, fmt.Errorf("%v: invalid annotation %s: %v (%T)", e, k, v, v))
			}
		}
		for _, l := range e.Metadata.Links {
			if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				errs = append(errs, fmt.Errorf("%v: link %q is not an absolute http(s) URL", e, l.URL))
			}
			if l.Icon != "" && !validName(l.Icon) {
				errs = append(errs, fmt.Errorf("%v: link icon %q is not a valid icon key", e, l.Icon))
			}
		}
	}
	return errs
}
