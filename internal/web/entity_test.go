package web

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/greenroom"
)

func TestSafeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://example.com/a?b=c", "https://example.com/a?b=c"},
		{"  http://example.com ", "http://example.com"},
		{"mailto:team@example.com", "mailto:team@example.com"},
		{"javascript:alert(1)", ""},
		{"JavaScript:alert(1)", ""},
		{" javascript:alert(1)", ""},
		{"data:text/html,<script>", ""},
		{"vbscript:x", ""},
		{"/relative/path", ""},
		{"//evil.example/x", ""},
		{"https://", ""},
		{"mailto:", ""},
		{"ftp://example.com/file", ""},
		{"https://example.com/" + string(make([]byte, maxURLLength)), ""},
	}
	for _, tt := range tests {
		if got := safeURL(tt.in); got != tt.want {
			t.Errorf("safeURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := locationURL("url:https://github.com/o/r/tree/main/"); got != "https://github.com/o/r/tree/main/" {
		t.Errorf("locationURL = %q", got)
	}
	for _, in := range []string{"file:/srv/x.yaml", "url:javascript:alert(1)", "demo:all.yaml", "nocolon"} {
		if got := locationURL(in); got != "" {
			t.Errorf("locationURL(%q) = %q", in, got)
		}
	}
}

func TestLocatedMessage(t *testing.T) {
	tests := []struct {
		in   string
		file string
		line int
		rest string
	}{
		{"components.yaml:7: component:default/x: spec.owner: required", "components.yaml", 7, "component:default/x: spec.owner: required"},
		{"https://host/x.yaml:12: bad", "https://host/x.yaml", 12, "bad"},
		{"no location here", "", 0, "no location here"},
		{"x.yaml: no line", "", 0, "x.yaml: no line"},
	}
	for _, tt := range tests {
		f, l, r := locatedMessage(tt.in)
		if f != tt.file || l != tt.line || r != tt.rest {
			t.Errorf("locatedMessage(%q) = %q, %d, %q", tt.in, f, l, r)
		}
	}
}

func TestRefsAndPaths(t *testing.T) {
	tests := []struct{ ref, implied, human, path string }{
		{"group:default/team-a", "group", "team-a", "/catalog/default/group/team-a"},
		{"group:default/team-a", "", "group:team-a", "/catalog/default/group/team-a"},
		{"user:ops/jane.doe", "group", "user:ops/jane.doe", "/catalog/ops/user/jane.doe"},
		{"Component:Default/Svc", "component", "Svc", "/catalog/default/component/Svc"},
		{"no-kind", "", "no-kind", ""},
	}
	for _, tt := range tests {
		if got := humanRef(tt.ref, tt.implied); got != tt.human {
			t.Errorf("humanRef(%q, %q) = %q, want %q", tt.ref, tt.implied, got, tt.human)
		}
		if got := refPath(tt.ref); got != tt.path {
			t.Errorf("refPath(%q) = %q, want %q", tt.ref, got, tt.path)
		}
	}
	if got := entityPath(greenroom.EntityRef{Kind: "Component", Namespace: "default", Name: "a b?c"}); got != "/catalog/default/component/a%20b%3Fc" {
		t.Errorf("entityPath escapes to %q", got)
	}
}

func TestSmallHelpers(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 12345: "12,345", 1234567: "1,234,567"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q", n, got)
		}
	}
	if got := clip("ünïcödé wörds", 6); got != "ünïcö…" {
		t.Errorf("clip = %q", got)
	}
	for in, want := range map[string]string{"component": "Components", "api": "APIs", "class": "Classes", "policy": "Policies", "": "All entities"} {
		if got := kindLabel(in, nil); got != want {
			t.Errorf("kindLabel(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"/catalog?x=1": "/catalog?x=1", "//evil.example": "/fallback", "https://evil.example": "/fallback",
		"/\\evil": "/fallback", "/ok\r\nSet-Cookie: x": "/fallback", "": "/fallback",
	} {
		if got := localReturn(in, "/fallback"); got != want {
			t.Errorf("localReturn(%q) = %q", in, got)
		}
	}
}

func TestListFiltersRoundTrip(t *testing.T) {
	in := url.Values{
		"filters[kind]": {"Component"}, "filters[type]": {"service", "website"}, "filters[owners]": {"team-a", "user:jane"},
		"filters[lifecycles]": {"production"}, "filters[tags]": {"go", "go"}, "filters[namespace]": {"default"},
		"filters[user]": {"starred"}, "filters[text]": {"  pay  "}, "sort": {"owner"}, "dir": {"desc"}, "limit": {"50"},
	}
	f, notes := parseListFilters(in, "component", "", false)
	if len(notes) != 0 {
		t.Fatalf("notes %v", notes)
	}
	want := listFilters{Kind: "component", Types: []string{"service", "website"}, Owners: []string{"group:default/team-a", "user:default/jane"},
		Lifecycles: []string{"production"}, Tags: []string{"go"}, Namespaces: []string{"default"}, User: userStarred, Text: "pay",
		Sort: "owner", Desc: true, Limit: 50}
	if diff := cmp.Diff(want, f, cmp.AllowUnexported(listFilters{})); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	again, notes := parseListFilters(f.encode(false), "component", "", false)
	if diff := cmp.Diff(f, again, cmp.AllowUnexported(listFilters{})); diff != "" || len(notes) != 0 {
		t.Errorf("round trip (-first +second):\n%s %v", diff, notes)
	}
	// No kind parameter lists the default kind; an empty one every kind.
	if f, _ := parseListFilters(url.Values{}, "component", "", false); f.Kind != "component" {
		t.Errorf("default kind %q", f.Kind)
	}
	if f, _ := parseListFilters(url.Values{"filters[kind]": {""}}, "component", "", false); f.Kind != "" {
		t.Errorf("empty kind %q", f.Kind)
	}
	// The API explorer ignores the kind parameter.
	if f, _ := parseListFilters(url.Values{"filters[kind]": {"user"}}, "api", "api", false); f.Kind != "api" {
		t.Errorf("fixed kind %q", f.Kind)
	}
	// Bounded: at most maxFilterValues values, each of bounded length.
	many := url.Values{}
	for i := range maxFilterValues + 10 {
		many.Add("filters[tags]", "t"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	many.Add("filters[type]", string(make([]byte, maxFilterValueLen+1)))
	f, notes = parseListFilters(many, "component", "", false)
	if len(f.Tags) != maxFilterValues || len(f.Types) != 0 || len(notes) != 2 {
		t.Errorf("%d tags, %d types, notes %v", len(f.Tags), len(f.Types), notes)
	}
}
