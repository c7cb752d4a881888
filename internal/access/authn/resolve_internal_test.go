package authn

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// mapCatalog holds users by name with an email and an annotation, and
// groups in a chain; QueryEntities understands the resolvers' filters.
type mapCatalog struct {
	entities map[string]string // ref -> JSON
	queries  int
}

func (c *mapCatalog) EntityByName(_ context.Context, ref greenroom.EntityRef) (json.RawMessage, error) {
	if e, ok := c.entities[ref.String()]; ok {
		return json.RawMessage(e), nil
	}
	return nil, greenroom.Errorf(greenroom.CodeNotFound, "not found")
}

func (c *mapCatalog) QueryEntities(_ context.Context, q query.EntitiesQuery, _ query.Fields) (query.EntitiesPage[json.RawMessage], error) {
	c.queries++
	var page query.EntitiesPage[json.RawMessage]
	want := q.Filter.Sub[1] // All(kind=user, key=value)
	for _, e := range c.entities {
		var m map[string]any
		_ = json.Unmarshal([]byte(e), &m)
		var got any = m
		for _, k := range splitKey(want.Key) {
			mm, _ := got.(map[string]any)
			got = mm[k]
		}
		if s, ok := got.(string); ok && strings.EqualFold(s, want.Values[0]) {
			page.Items = append(page.Items, json.RawMessage(e))
		}
	}
	return page, nil
}

// splitKey splits a filter key, keeping an annotation name with dots
// ("metadata.annotations.oidc.com/email") whole.
func splitKey(k string) []string {
	if rest, ok := strings.CutPrefix(k, "metadata.annotations."); ok {
		return []string{"metadata", "annotations", rest}
	}
	return strings.Split(k, ".")
}

func user(name, email string, groups ...string) string {
	rels := []string{}
	for _, g := range groups {
		rels = append(rels, fmt.Sprintf(`{"type":"memberOf","targetRef":"group:default/%s"}`, g))
	}
	return fmt.Sprintf(`{"kind":"User","metadata":{"name":%q,"annotations":{"github.com/email":%q}},"spec":{"profile":{"email":%q}},"relations":[%s]}`,
		name, email, email, strings.Join(rels, ","))
}

func group(name, parent string) string {
	rel := ""
	if parent != "" {
		rel = fmt.Sprintf(`{"type":"childOf","targetRef":"group:default/%s"}`, parent)
	}
	return fmt.Sprintf(`{"kind":"Group","metadata":{"name":%q},"relations":[%s]}`, name, rel)
}

func TestResolvers(t *testing.T) {
	cat := &mapCatalog{entities: map[string]string{
		"user:default/jane":  user("jane", "jane.d@corp.example"),
		"user:default/jdoe":  user("jdoe", "jane@other.example"),
		"user:default/twin1": user("twin1", "twin@corp.example"),
		"user:default/twin2": user("twin2", "twin@corp.example"),
	}}
	tests := []struct {
		name      string
		profile   Profile
		resolvers []Resolver
		want      string // "" means refused
	}{
		{"username", Profile{Provider: "github", Username: "jane"}, []Resolver{{Name: ResolverUsername}}, "user:default/jane"},
		{"github default is username", Profile{Provider: "github", Username: "jdoe"}, nil, "user:default/jdoe"},
		{"profile email", Profile{Provider: "oidc", Email: "JANE@other.example"}, []Resolver{{Name: ResolverEmailProfile}}, "user:default/jdoe"},
		{"oidc default is profile email", Profile{Provider: "oidc", Email: "jane.d@corp.example"}, nil, "user:default/jane"},
		{"local part", Profile{Provider: "oidc", Email: "jane@anything.example"}, []Resolver{{Name: ResolverEmailLocalPart}}, "user:default/jane"},
		{"local part, domain not allowed", Profile{Provider: "oidc", Email: "jane@evil.example"},
			[]Resolver{{Name: ResolverEmailLocalPart, AllowedDomains: []string{"corp.example"}}}, ""},
		{"annotation", Profile{Provider: "github", Email: "jane.d@corp.example"}, []Resolver{{Name: ResolverEmailAnnotation}}, "user:default/jane"},
		{"annotation, other key", Profile{Provider: "oidc", Email: "jane.d@corp.example"}, []Resolver{{Name: ResolverEmailAnnotation}}, ""},
		{"first match wins", Profile{Provider: "oidc", Username: "jdoe", Email: "jane.d@corp.example"},
			[]Resolver{{Name: ResolverUsername}, {Name: ResolverEmailProfile}}, "user:default/jdoe"},
		{"falls through", Profile{Provider: "oidc", Username: "nobody", Email: "jane.d@corp.example"},
			[]Resolver{{Name: ResolverUsername}, {Name: ResolverEmailProfile}}, "user:default/jane"},
		{"ambiguous email refused", Profile{Provider: "oidc", Email: "twin@corp.example"}, []Resolver{{Name: ResolverEmailProfile}}, ""},
		{"no email", Profile{Provider: "oidc"}, []Resolver{{Name: ResolverEmailProfile}}, ""},
		{"not an entity name", Profile{Provider: "github", Username: "../admin"}, []Resolver{{Name: ResolverUsername}}, ""},
		{"without catalog user", Profile{Provider: "oidc", Email: "new.hire@corp.example"},
			[]Resolver{{Name: ResolverEmailProfile, AllowWithoutCatalog: true}}, "user:default/new.hire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveUser(t.Context(), cat, tt.profile, tt.resolvers)
			if tt.want == "" {
				if err == nil || greenroom.ErrorCode(err) != greenroom.CodeForbidden {
					t.Fatalf("resolved %q, %v; want a refusal", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestOwnershipRefsBounded(t *testing.T) {
	cat := &mapCatalog{entities: map[string]string{"user:default/u": user("u", "u@x.example", "g0", "g0", "side")}}
	// A chain deeper than maxGroupDepth, ending in a cycle.
	for i := 0; i < 15; i++ {
		cat.entities[fmt.Sprintf("group:default/g%d", i)] = group(fmt.Sprintf("g%d", i), fmt.Sprintf("g%d", (i+1)%15))
	}
	cat.entities["group:default/side"] = group("side", "g0")
	id, err := identityOf(t.Context(), cat, "user:default/u")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(id.Teams, ",") != "group:default/g0,group:default/side" {
		t.Errorf("teams: %v", id.Teams)
	}
	// The user, side and g0..g9 (depth 10), each once.
	if len(id.OwnershipRefs) != 12 || id.OwnershipRefs[0] != "user:default/u" {
		t.Errorf("ownership refs (%d): %v", len(id.OwnershipRefs), id.OwnershipRefs)
	}
	seen := map[string]bool{}
	for _, r := range id.OwnershipRefs {
		if seen[r] {
			t.Errorf("%s twice", r)
		}
		seen[r] = true
	}
	missing, err := identityOf(t.Context(), cat, "user:default/ghost")
	if err != nil || len(missing.OwnershipRefs) != 1 {
		t.Errorf("user missing from the catalog: %+v %v", missing, err)
	}
}

func TestSafeReturn(t *testing.T) {
	s := &Service{opts: Options{BaseURL: "https://portal.example", AppURL: "https://app.example"}}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "/", true},
		{"/catalog?kind=api", "/catalog?kind=api", true},
		{"https://app.example/docs", "/docs", true},
		{"https://portal.example", "/", true},
		{"https://evil.example/", "", false},
		{"//evil.example", "", false},
		{"/\\evil.example", "", false},
		{"https://portal.example@evil.example/", "", false},
		{"http://portal.example/", "", false}, // scheme downgrade
		{"javascript:alert(1)", "", false},
		{"catalog", "", false},
		{"/a\r\nSet-Cookie: x=1", "", false},
		{"/" + strings.Repeat("a", 3000), "", false},
	}
	for _, tt := range tests {
		got, ok := s.safeReturn(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("safeReturn(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzSafeReturn checks that whatever it accepts stays on this portal:
// a path starting with one slash, which resolved against the base URL
// keeps its host.
func FuzzSafeReturn(f *testing.F) {
	for _, seed := range []string{"/", "/catalog?x=1", "//evil", "https://portal.example/x", "/\\x", "/%2F%2Fevil", "https:evil", "/.//evil"} {
		f.Add(seed)
	}
	s := &Service{opts: Options{BaseURL: "https://portal.example", AppURL: "https://portal.example"}}
	base, _ := url.Parse("https://portal.example/start")
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := s.safeReturn(in)
		if !ok {
			return
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("safeReturn(%q) accepted %q", in, got)
		}
		u, err := base.Parse(got)
		if err != nil || u.Host != "portal.example" || u.Scheme != "https" {
			t.Fatalf("safeReturn(%q) = %q leaves the portal: %v", in, got, u)
		}
	})
}
