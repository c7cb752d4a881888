package catalog

import (
	"strings"
	"testing"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/greenroom"
)

func ruleEntity(kind, specType string) *entity.Entity {
	raw := map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": map[string]any{"name": "x"}}
	if specType != "" {
		raw["spec"] = map[string]any{"type": specType}
	}
	return entity.New(raw)
}

// The cases follow Backstage's CatalogRules.test.ts: default rules, global
// rules replacing them, location rules adding to them, exact and pattern
// location matchers, and spec.type.
func TestRulesEnforcer(t *testing.T) {
	file := LocationSpec{Type: "file", Target: "/srv/catalog/users.yaml"}
	other := LocationSpec{Type: "file", Target: "/srv/catalog/other.yaml"}
	gh := LocationSpec{Type: "url", Target: "https://github.com/acme/templates/blob/main/template.yaml"}
	ghOther := LocationSpec{Type: "url", Target: "https://github.com/other/x/blob/main/template.yaml"}
	push := LocationSpec{Type: "push", Target: "terraform"}

	withLocations := append(DefaultRules(), LocationRules(file, [][]string{{"User", "Group"}})...)
	global := []Rule{
		{Allow: []RuleAllow{{Kind: "Component"}, {Kind: "API"}}},
		{Allow: []RuleAllow{{Kind: "Resource", SpecType: "database"}}},
		{Allow: []RuleAllow{{Kind: "Template"}}, Locations: []RuleLocation{{Type: "url", Pattern: "https://github.com/ACME/**"}}},
		{Allow: []RuleAllow{{Kind: "Resource"}}, Locations: []RuleLocation{{Type: "push", Exact: "terraform"}}},
		{Allow: []RuleAllow{{Kind: "System"}}, Locations: []RuleLocation{}},
	}
	tests := []struct {
		name  string
		rules []Rule
		e     *entity.Entity
		loc   LocationSpec
		want  bool
	}{
		{"default allows Component", DefaultRules(), ruleEntity("Component", "service"), gh, true},
		{"default allows API, case-insensitively", DefaultRules(), ruleEntity("api", ""), file, true},
		{"default allows Location", DefaultRules(), ruleEntity("Location", ""), file, true},
		{"default refuses User", DefaultRules(), ruleEntity("User", ""), file, false},
		{"default refuses Template", DefaultRules(), ruleEntity("Template", ""), gh, false},
		{"location rule adds to the defaults", withLocations, ruleEntity("Group", ""), file, true},
		{"defaults still apply to that location", withLocations, ruleEntity("Component", ""), file, true},
		{"location rule is for that location only", withLocations, ruleEntity("Group", ""), other, false},
		{"location rule needs the same type", withLocations, ruleEntity("Group", ""), LocationSpec{Type: "url", Target: file.Target}, false},
		{"global rules replace the defaults", global, ruleEntity("Location", ""), file, false},
		{"global rule without locations covers every location", global, ruleEntity("Component", ""), push, true},
		{"spec.type must match", global, ruleEntity("Resource", "s3-bucket"), gh, false},
		{"spec.type matches case-insensitively", global, ruleEntity("Resource", "Database"), gh, true},
		{"spec.type required when the rule names one", global, ruleEntity("Resource", ""), gh, false},
		{"pattern matches, ignoring case", global, ruleEntity("Template", ""), gh, true},
		{"pattern does not match another org", global, ruleEntity("Template", ""), ghOther, false},
		{"pattern needs the same type", global, ruleEntity("Template", ""), LocationSpec{Type: "file", Target: gh.Target}, false},
		{"exact push source", global, ruleEntity("Resource", "s3-bucket"), push, true},
		{"exact is case-sensitive", global, ruleEntity("Resource", "s3-bucket"), LocationSpec{Type: "push", Target: "Terraform"}, false},
		{"empty location list matches none", global, ruleEntity("System", ""), file, false},
		{"no rules allow nothing", []Rule{}, ruleEntity("Component", ""), file, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRulesEnforcer(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.IsAllowed(tt.e, tt.loc); got != tt.want {
				t.Errorf("IsAllowed(%s, %s) = %v, want %v; rules %s", tt.e.Kind(), tt.loc, got, tt.want, r)
			}
		})
	}
}

func TestRulePatterns(t *testing.T) {
	tests := []struct {
		pattern, target string
		want            bool
	}{
		{"https://github.com/org/*/blob/master/template.yaml", "https://github.com/org/repo/blob/master/template.yaml", true},
		{"https://github.com/org/*/blob/master/template.yaml", "https://github.com/org/a/b/blob/master/template.yaml", false},
		{"https://github.com/org/**/template.yaml", "https://github.com/org/a/b/blob/master/template.yaml", true},
		{"https://github.com/org/{a,b}/**", "https://github.com/org/b/x.yaml", true},
		{"https://github.com/org/{a,b}/**", "https://github.com/org/c/x.yaml", false},
		{"/srv/*/catalog-info.yaml", "/srv/.hidden/catalog-info.yaml", true}, // dot: true
		{"/srv/catalog-?.yaml", "/srv/catalog-a.yaml", true},
		{"/srv/[ab].yaml", "/srv/B.yaml", true}, // nocase
	}
	for _, tt := range tests {
		r, err := NewRulesEnforcer([]Rule{{Allow: []RuleAllow{{Kind: "Component"}}, Locations: []RuleLocation{{Type: "url", Pattern: tt.pattern}}}})
		if err != nil {
			t.Fatalf("%s: %v", tt.pattern, err)
		}
		if got := r.IsAllowed(ruleEntity("Component", ""), LocationSpec{Type: "url", Target: tt.target}); got != tt.want {
			t.Errorf("%q against %q = %v, want %v", tt.pattern, tt.target, got, tt.want)
		}
	}
}

func TestRulesEnforcerErrors(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"exact and pattern", []Rule{{Allow: []RuleAllow{{Kind: "A"}}, Locations: []RuleLocation{{Type: "url", Exact: "x", Pattern: "y"}}}}, "cannot have both exact and pattern"},
		{"bad glob", []Rule{{Allow: []RuleAllow{{Kind: "A"}}, Locations: []RuleLocation{{Type: "url", Pattern: "https://x/[a"}}}}, "not a valid glob"},
		{"no type", []Rule{{Allow: []RuleAllow{{Kind: "A"}}, Locations: []RuleLocation{{Exact: "x"}}}}, "type is empty"},
		{"empty kind", []Rule{{Allow: []RuleAllow{{Kind: " "}}}}, "kind is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRulesEnforcer(tt.rules)
			if err == nil || !strings.Contains(err.Error(), tt.want) || greenroom.ErrorCode(err) != greenroom.CodeInvalid {
				t.Errorf("err = %v, want invalid %q", err, tt.want)
			}
		})
	}
}

func TestRulesCheckMessage(t *testing.T) {
	r, err := NewRulesEnforcer(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	origin := LocationSpec{Type: "file", Target: "/srv/all.yaml"}
	at := LocationSpec{Type: "file", Target: "/srv/users.yaml"}
	err = r.Check(ruleEntity("User", ""), at, origin)
	want := "Entity user:default/x at file:/srv/users.yaml, originated at file:/srv/all.yaml, is not of an allowed kind for that location"
	if err == nil || err.Error() != want || greenroom.ErrorCode(err) != greenroom.CodeForbidden {
		t.Errorf("Check = %v\nwant %s", err, want)
	}
	if err := r.Check(ruleEntity("User", ""), origin, origin); err == nil || strings.Contains(err.Error(), "originated") {
		t.Errorf("root file: %v", err)
	}
	if err := r.Check(ruleEntity("Component", ""), at, origin); err != nil {
		t.Errorf("allowed kind: %v", err)
	}
	var none *RulesEnforcer
	if !none.IsAllowed(ruleEntity("User", ""), origin) {
		t.Error("a nil enforcer must allow everything")
	}
}
