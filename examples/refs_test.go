package examples_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Entity references, read as Backstage's parseEntityRef reads them:
// [kind:][namespace/]name, the kind and namespace defaulted by the field.

type ref struct{ kind, namespace, name string }

func (r ref) String() string { return r.kind + ":" + r.namespace + "/" + r.name }

func parseRef(s, defaultKind, defaultNamespace string) (ref, error) {
	rest := s
	kind, ns := defaultKind, defaultNamespace
	if i := strings.Index(rest, ":"); i >= 0 {
		kind, rest = rest[:i], rest[i+1:]
		if kind == "" {
			return ref{}, fmt.Errorf("reference %q has an empty kind", s)
		}
	}
	if i := strings.Index(rest, "/"); i >= 0 {
		ns, rest = rest[:i], rest[i+1:]
		if ns == "" {
			return ref{}, fmt.Errorf("reference %q has an empty namespace", s)
		}
	}
	if rest == "" || strings.ContainsAny(rest, ":/") {
		return ref{}, fmt.Errorf("reference %q has an invalid name", s)
	}
	if kind == "" {
		return ref{}, fmt.Errorf("reference %q names no kind, and this field has no default kind", s)
	}
	return ref{strings.ToLower(kind), strings.ToLower(ns), strings.ToLower(rest)}, nil
}

// refField is a spec field that refers to other entities, with the default
// kind that Backstage's BuiltinKindsEntityProcessor reads it with ("" for
// dependsOn and dependencyOf, which must name their kind) and the kinds the
// descriptor format allows it to refer to.
type refField struct {
	kind        string // kind of the entity that holds the field
	field       string // key under spec
	list        bool
	defaultKind string
	allowed     []string
}

var refFields = []refField{
	{"Component", "owner", false, "Group", []string{"group", "user"}},
	{"Component", "system", false, "System", []string{"system"}},
	{"Component", "subcomponentOf", false, "Component", []string{"component"}},
	{"Component", "providesApis", true, "API", []string{"api"}},
	{"Component", "consumesApis", true, "API", []string{"api"}},
	{"Component", "dependsOn", true, "", []string{"component", "resource"}},
	{"Component", "dependencyOf", true, "", []string{"component", "resource"}},
	{"API", "owner", false, "Group", []string{"group", "user"}},
	{"API", "system", false, "System", []string{"system"}},
	{"Resource", "owner", false, "Group", []string{"group", "user"}},
	{"Resource", "system", false, "System", []string{"system"}},
	{"Resource", "dependsOn", true, "", []string{"component", "resource"}},
	{"Resource", "dependencyOf", true, "", []string{"component", "resource"}},
	{"System", "owner", false, "Group", []string{"group", "user"}},
	{"System", "domain", false, "Domain", []string{"domain"}},
	{"Domain", "owner", false, "Group", []string{"group", "user"}},
	{"Domain", "subdomainOf", false, "Domain", []string{"domain"}},
	{"Group", "parent", false, "Group", []string{"group"}},
	{"Group", "children", true, "Group", []string{"group"}},
	{"Group", "members", true, "User", []string{"user"}},
	{"User", "memberOf", true, "Group", []string{"group"}},
}

// refs returns the references in field f of e, read with f's defaults.
func (f refField) refs(e *entity) ([]ref, []error) {
	v, ok := e.Spec[f.field]
	if !ok || v == nil {
		return nil, nil
	}
	var raw []string
	if f.list {
		l, err := strList(v)
		if err != nil {
			return nil, []error{fmt.Errorf("%v: spec.%s: %w", e, f.field, err)}
		}
		raw = l
	} else {
		s, ok := v.(string)
		if !ok {
			return nil, []error{fmt.Errorf("%v: spec.%s is %T, want a string", e, f.field, v)}
		}
		raw = []string{s}
	}
	var out []ref
	var errs []error
	for _, s := range raw {
		r, err := parseRef(s, f.defaultKind, e.namespace())
		if err != nil {
			errs = append(errs, fmt.Errorf("%v: spec.%s: %w", e, f.field, err))
			continue
		}
		out = append(out, r)
	}
	return out, errs
}

// refsOf returns the references in spec.field of e.
func refsOf(e *entity, field string) []ref {
	for _, f := range refFields {
		if f.kind == e.Kind && f.field == field {
			rs, _ := f.refs(e)
			return rs
		}
	}
	return nil
}

// related returns the entities that spec.field of e refers to, skipping
// references that do not resolve (checkRefs reports those).
func (c *catalog) related(e *entity, field string) []*entity {
	var out []*entity
	for _, r := range refsOf(e, field) {
		if t := c.byRef[r]; t != nil {
			out = append(out, t)
		}
	}
	return out
}

// checkRefs: every reference resolves to an entity of an allowed kind, read
// with the default kind Backstage uses for its field.
func checkRefs(c *catalog) []error {
	var errs []error
	for _, e := range c.entities {
		for _, f := range refFields {
			if f.kind != e.Kind {
				continue
			}
			rs, ferrs := f.refs(e)
			errs = append(errs, ferrs...)
			for _, r := range rs {
				switch {
				case !slices.Contains(f.allowed, r.kind):
					errs = append(errs, fmt.Errorf("%v: spec.%s: %v must be one of kinds %v", e, f.field, r, f.allowed))
				case c.byRef[r] == nil:
					errs = append(errs, fmt.Errorf("%v: spec.%s: %v does not exist", e, f.field, r))
				}
			}
		}
	}
	return errs
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in, defaultKind string
		want            ref
		wantErr         bool
	}{
		{in: "team-a", defaultKind: "Group", want: ref{"group", "default", "team-a"}},
		{in: "user:jdoe", defaultKind: "Group", want: ref{"user", "default", "jdoe"}},
		{in: "resource:default/db", want: ref{"resource", "default", "db"}},
		{in: "Component:ns1/Svc", want: ref{"component", "ns1", "svc"}},
		{in: "ns1/api-a", defaultKind: "API", want: ref{"api", "ns1", "api-a"}},
		{in: "db", wantErr: true},
		{in: "", defaultKind: "Group", wantErr: true},
		{in: ":x", defaultKind: "Group", wantErr: true},
		{in: "group:/x", wantErr: true},
		{in: "group:a/b/c", wantErr: true},
	} {
		got, err := parseRef(tc.in, tc.defaultKind, "default")
		if (err != nil) != tc.wantErr {
			t.Errorf("parseRef(%q, %q): err = %v, want error %v", tc.in, tc.defaultKind, err, tc.wantErr)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("parseRef(%q, %q) = %v, want %v", tc.in, tc.defaultKind, got, tc.want)
		}
	}
}
