package catalog

import (
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/greenroom"
)

// LocationSpec is a location as the catalog rules see it: Backstage's
// {type, target}, such as {file, /srv/catalog/all.yaml},
// {url, https://github.com/acme/repo/blob/main/catalog-info.yaml} or, for
// the push API, {push, terraform}.
type LocationSpec struct {
	Type   string
	Target string
}

// String returns Backstage's "type:target" form.
func (l LocationSpec) String() string { return l.Type + ":" + l.Target }

// Rule is one entry of Backstage's catalog.rules, or one rule of a
// catalog.locations entry: the entities it allows, from the locations it
// covers.
type Rule struct {
	// Allow lists the entities the rule admits; an entity matching any of
	// them is allowed.
	Allow []RuleAllow
	// Locations limits the rule to the locations matching one of them.
	// Nil means every location; an empty non-nil list means none, as in
	// Backstage.
	Locations []RuleLocation
}

// RuleAllow matches entities by kind and, when SpecType is set, spec.type;
// both compare case-insensitively.
type RuleAllow struct {
	Kind     string
	SpecType string
}

// RuleLocation matches a location of Type whose target is Exact, or
// matches the glob Pattern (minimatch syntax as Backstage uses it:
// case-insensitive, * and ? within a path segment, ** across segments,
// [...] and {a,b}; dot files are matched), or any target when both are
// empty. Exact and Pattern cannot both be set.
type RuleLocation struct {
	Type    string
	Exact   string
	Pattern string
}

// DefaultRules are Backstage's rules when catalog.rules is not configured:
// every location may supply Component, API and Location entities, and
// nothing else.
func DefaultRules() []Rule {
	return []Rule{{Allow: []RuleAllow{{Kind: "Component"}, {Kind: "API"}, {Kind: "Location"}}}}
}

// RulesEnforcer decides whether an entity from a location may enter the
// catalog, exactly as Backstage's DefaultCatalogRulesEnforcer: it is
// allowed when some rule covers the location and admits the entity. Rules
// only ever allow; there is no deny. It is safe for concurrent use.
//
// The catalog checks an entity against the location its source started
// from (Backstage's origin location), so the rules of a configured
// location apply to every file reached through it.
type RulesEnforcer struct {
	rules []Rule
}

// NewRulesEnforcer returns an enforcer for rules, in Backstage's order:
// the global rules (catalog.rules when configured, else DefaultRules),
// then one rule per configured location rule, limited to that location
// (see LocationRules). It fails with CodeInvalid for a rule without kinds
// in Allow entries, a location matcher with both Exact and Pattern or
// without a Type, and a Pattern that is not a valid glob.
func NewRulesEnforcer(rules []Rule) (*RulesEnforcer, error) {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		for j, a := range r.Allow {
			if strings.TrimSpace(a.Kind) == "" {
				return nil, greenroom.Errorf(greenroom.CodeInvalid, "catalog rule %d, allow %d: kind is empty", i, j)
			}
		}
		var locs []RuleLocation
		if r.Locations != nil {
			locs = make([]RuleLocation, len(r.Locations))
		}
		for j, l := range r.Locations {
			switch {
			case l.Type == "":
				return nil, greenroom.Errorf(greenroom.CodeInvalid, "catalog rule %d, location %d: type is empty", i, j)
			case l.Exact != "" && l.Pattern != "":
				return nil, greenroom.Errorf(greenroom.CodeInvalid, "catalog rule %d, location %d: a catalog rule location cannot have both exact and pattern values", i, j)
			case l.Pattern != "" && !doublestar.ValidatePattern(strings.ToLower(l.Pattern)):
				return nil, greenroom.Errorf(greenroom.CodeInvalid, "catalog rule %d, location %d: pattern %q is not a valid glob", i, j, l.Pattern)
			}
			// Lowercased once here: minimatch runs with nocase.
			locs[j] = RuleLocation{Type: l.Type, Exact: l.Exact, Pattern: strings.ToLower(l.Pattern)}
		}
		out[i] = Rule{Allow: append([]RuleAllow(nil), r.Allow...), Locations: locs}
	}
	return &RulesEnforcer{rules: out}, nil
}

// LocationRules turns the rules of one configured location (the kinds of
// each catalog.locations[].rules[].allow) into rules limited to exactly
// that location, as Backstage does. For a file location, target must be
// the absolute path.
func LocationRules(loc LocationSpec, allow [][]string) []Rule {
	out := make([]Rule, 0, len(allow))
	for _, kinds := range allow {
		r := Rule{Locations: []RuleLocation{{Type: loc.Type, Exact: loc.Target}}}
		for _, k := range kinds {
			r.Allow = append(r.Allow, RuleAllow{Kind: k})
		}
		out = append(out, r)
	}
	return out
}

// IsAllowed reports whether e may come from loc. A nil enforcer allows
// everything: sources that are not Backstage locations (the bundled demo)
// are not subject to the rules.
func (r *RulesEnforcer) IsAllowed(e *entity.Entity, loc LocationSpec) bool {
	if r == nil {
		return true
	}
	kind := e.Kind()
	specType, hasType := "", false
	if spec := e.Spec(); spec != nil {
		specType, hasType = spec["type"].(string)
	}
	for _, rule := range r.rules {
		if matchLocation(loc, rule.Locations) && matchEntity(kind, specType, hasType, rule.Allow) {
			return true
		}
	}
	return false
}

// Check returns nil when e may come from origin, else a CodeForbidden
// error worded as Backstage's: "Entity component:default/x at
// file:/a/b.yaml, originated at file:/a/all.yaml, is not of an allowed
// kind for that location". at is where the entity was read (equal to
// origin for a root file).
func (r *RulesEnforcer) Check(e *entity.Entity, at, origin LocationSpec) error {
	if r.IsAllowed(e, origin) {
		return nil
	}
	where := "at " + at.String()
	if at != origin {
		where += ", originated at " + origin.String()
	}
	return greenroom.Errorf(greenroom.CodeForbidden, "Entity %s %s, is not of an allowed kind for that location", refOf(e), where)
}

func refOf(e *entity.Entity) string {
	if e.Kind() == "" || e.Name() == "" {
		return "(unnamed)"
	}
	return e.Ref().String()
}

func matchLocation(loc LocationSpec, matchers []RuleLocation) bool {
	if matchers == nil {
		return true
	}
	for _, m := range matchers {
		if m.Type != loc.Type {
			continue
		}
		if m.Exact != "" && m.Exact != loc.Target {
			continue
		}
		if m.Pattern != "" {
			ok, err := doublestar.Match(m.Pattern, strings.ToLower(loc.Target))
			if err != nil || !ok {
				continue
			}
		}
		return true
	}
	return false
}

func matchEntity(kind, specType string, hasType bool, allow []RuleAllow) bool {
	for _, a := range allow {
		if !strings.EqualFold(kind, a.Kind) {
			continue
		}
		if a.SpecType != "" && (!hasType || !strings.EqualFold(a.SpecType, specType)) {
			continue
		}
		return true
	}
	return false
}

// String describes the rules for messages and logs.
func (r *RulesEnforcer) String() string {
	if r == nil {
		return "no rules (everything allowed)"
	}
	var parts []string
	for _, rule := range r.rules {
		var kinds []string
		for _, a := range rule.Allow {
			k := a.Kind
			if a.SpecType != "" {
				k += "(spec.type=" + a.SpecType + ")"
			}
			kinds = append(kinds, k)
		}
		s := "[" + strings.Join(kinds, ", ") + "]"
		if rule.Locations != nil {
			var locs []string
			for _, l := range rule.Locations {
				switch {
				case l.Exact != "":
					locs = append(locs, l.Type+":"+l.Exact)
				case l.Pattern != "":
					locs = append(locs, l.Type+":"+l.Pattern)
				default:
					locs = append(locs, l.Type+":*")
				}
			}
			s += fmt.Sprintf(" from %s", strings.Join(locs, ", "))
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// SetRules makes every location's entities pass r (Backstage's
// catalog.rules with the configured locations' own rules), checked against
// the entity's origin location as Backstage does. Sources that are not
// Backstage locations (the bundled demo) are exempt. nil allows every kind.
func (s *Service) SetRules(r *RulesEnforcer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proc.rules = r
}

// parseLocationSpec splits Backstage's "type:target" location reference.
func parseLocationSpec(ref string) LocationSpec {
	typ, target, _ := strings.Cut(ref, ":")
	return LocationSpec{Type: typ, Target: target}
}
