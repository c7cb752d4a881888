package examples_test

import (
	"errors"
	"slices"
	"testing"

	"greenroom/examples"
)

// The demo is big enough, and varied enough, to be worth exploring.
func TestDemoCoverage(t *testing.T) {
	c, errs := load(examples.FS, examples.Root)
	if len(errs) > 0 {
		t.Fatalf("loading the demo: %v", errors.Join(errs...))
	}
	kind := func(k string) func(*entity) bool {
		return func(e *entity) bool { return e.Kind == k }
	}
	component := func(field, value string) func(*entity) bool {
		return func(e *entity) bool { return e.Kind == "Component" && e.Spec[field] == value }
	}
	componentTagged := func(tag string) func(*entity) bool {
		return func(e *entity) bool { return e.Kind == "Component" && slices.Contains(e.Metadata.Tags, tag) }
	}
	apiOfType := func(types ...string) func(*entity) bool {
		return func(e *entity) bool { return e.Kind == "API" && slices.Contains(types, str(e.Spec["type"])) }
	}
	resourceOfType := func(typ string) func(*entity) bool {
		return func(e *entity) bool { return e.Kind == "Resource" && e.Spec["type"] == typ }
	}
	for _, tc := range []struct {
		what string
		pred func(*entity) bool
		min  int
	}{
		{"Domains", kind("Domain"), 2},
		{"Systems", kind("System"), 5},
		{"Components", kind("Component"), 25},
		{"Java components", componentTagged("java"), 1},
		{"Go components", componentTagged("go"), 1},
		{"React components", componentTagged("react"), 1},
		{"React Native components", componentTagged("react-native"), 1},
		{"Components of type service", component("type", "service"), 10},
		{"Components of type website", component("type", "website"), 1},
		{"Components of type library", component("type", "library"), 1},
		{"Components of type mobile-app", component("type", "mobile-app"), 1},
		{"experimental Components", component("lifecycle", "experimental"), 1},
		{"deprecated Components", component("lifecycle", "deprecated"), 1},
		{"subcomponents", func(e *entity) bool { return e.Kind == "Component" && e.Spec["subcomponentOf"] != nil }, 1},
		{"APIs of type openapi, asyncapi or graphql", apiOfType("openapi", "asyncapi", "graphql"), 10},
		{"OpenAPI APIs", apiOfType("openapi"), 1},
		{"AsyncAPI APIs", apiOfType("asyncapi"), 1},
		{"GraphQL APIs", apiOfType("graphql"), 1},
		{"gRPC APIs", apiOfType("grpc"), 1},
		{"APIs with a $text definition", func(e *entity) bool { return e.Kind == "API" && textTarget(e.Spec["definition"]) != "" }, 1},
		{"Resources", kind("Resource"), 8},
		{"database Resources", resourceOfType("database"), 1},
		{"cache Resources", resourceOfType("cache"), 1},
		{"queue Resources", resourceOfType("queue"), 1},
		{"topic Resources", resourceOfType("topic"), 1},
		{"s3-bucket Resources", resourceOfType("s3-bucket"), 1},
		{"Groups", kind("Group"), 6},
		{"Users", kind("User"), 45},
		{"Locations (root and nested)", kind("Location"), 2},
	} {
		n := 0
		for _, e := range c.entities {
			if tc.pred(e) {
				n++
			}
		}
		if n < tc.min {
			t.Errorf("%s: got %d, want at least %d", tc.what, n, tc.min)
		}
	}
	if c.maxDepth < 3 {
		t.Errorf("Location chain is %d files deep, want root → nested Location → files (3)", c.maxDepth)
	}
}
