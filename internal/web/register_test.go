package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"greenroom/internal/store/storetest"
)

func TestRegisterComponent(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	jar, tok := f.csrf(t)
	target := f.files + "/repo/catalog-info.yaml"

	// The form is refused without its token.
	if res := f.post(t, "/catalog-import", url.Values{"url": {target}, "action": {"preview"}}, jar); res.Code != http.StatusForbidden ||
		!strings.Contains(res.body, "security token") {
		t.Errorf("no token: %d", res.Code)
	}

	// Preview: read and validated, nothing stored.
	res := f.post(t, "/catalog-import", url.Values{"csrf": {tok}, "url": {target}, "action": {"preview"}}, jar)
	if res.Code != 200 {
		t.Fatalf("preview: %d\n%s", res.Code, res.body)
	}
	for _, want := range []string{"<h2 id=\"preview-h\">Preview</h2>", "remote-svc", "Registered from a URL",
		"Importing adds 1 entity", "location:default/generated-", `name="action" value="import"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	for _, p := range markupProblems(res.doc) {
		t.Error(p)
	}
	if res := f.get(t, "/catalog/default/component/remote-svc"); res.Code != 404 {
		t.Errorf("a preview stored the entity: %d", res.Code)
	}

	// The kind counts are cached until the catalog changes.
	if res := f.get(t, "/catalog"); !strings.Contains(res.body, "Component (34)") {
		t.Fatal("no component count before the import")
	}

	// Import: registered and in the catalog at once.
	res = f.post(t, "/catalog-import", url.Values{"csrf": {tok}, "url": {target}, "action": {"import"}}, jar)
	if res.Code != 200 || !strings.Contains(res.body, "<h2 id=\"done-h\">Registered</h2>") ||
		!strings.Contains(res.body, `href="/catalog/default/component/remote-svc"`) {
		t.Fatalf("import: %d\n%s", res.Code, res.body)
	}
	if res := f.get(t, "/catalog/default/component/remote-svc"); res.Code != 200 {
		t.Errorf("the imported entity: %d", res.Code)
	}
	// Its change event refreshes the counts.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.get(t, "/catalog").body, "Component (35)") {
		if time.Now().After(deadline) {
			t.Fatal("the component count did not follow the import")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Previewing it again says it exists.
	if res := f.post(t, "/catalog-import", url.Values{"csrf": {tok}, "url": {target}, "action": {"preview"}}, jar); !strings.Contains(res.body, "registered already") {
		t.Error("a second preview does not say the location exists")
	}

	// Bad input is explained next to the field, which keeps its value.
	tests := []struct {
		url    string
		status int
		want   []string
	}{
		{"", 400, []string{"Enter the URL of a catalog-info.yaml file"}},
		{"javascript:alert(1)", 400, []string{"must be an absolute http:// or https:// address", `value="javascript:alert(1)"`}},
		{"ftp://example.com/x.yaml", 400, []string{"must be an absolute http:// or https://"}},
		{f.files + "/bad/catalog-info.yaml", 400, []string{"The catalog could not register this URL", "spec.owner", "bad/catalog-info.yaml:1"}},
		{f.files + "/missing.yaml", 400, []string{"The catalog could not register this URL"}},
	}
	for _, tt := range tests {
		res := f.post(t, "/catalog-import", url.Values{"csrf": {tok}, "url": {tt.url}, "action": {"preview"}}, jar)
		if res.Code != tt.status {
			t.Errorf("%q: status %d\n%s", tt.url, res.Code, res.body)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(res.body, w) {
				t.Errorf("%q: page lacks %q", tt.url, w)
			}
		}
		if !strings.Contains(res.body, `aria-invalid="true"`) || !strings.Contains(res.body, `role="alert"`) {
			t.Errorf("%q: the error is not tied to the field", tt.url)
		}
		for _, p := range markupProblems(res.doc) {
			t.Errorf("%q: %s", tt.url, p)
		}
	}
}

// catalogOnly hides the service's other capabilities.
type catalogOnly struct{ Catalog }

func TestRegisterDisabled(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	h, err := New("Acme Portal", catalogOnly{f.svc}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	g := &fixture{svc: f.svc, h: h, mux: mux}
	if res := g.get(t, "/catalog-import"); !strings.Contains(res.body, "Registering is not enabled on this server") {
		t.Error("the form does not say registration is off")
	}
	jar, tok := g.csrf(t)
	res := g.post(t, "/catalog-import", url.Values{"csrf": {tok}, "url": {"https://example.com/x.yaml"}}, jar)
	if res.Code != http.StatusServiceUnavailable {
		t.Errorf("post: %d", res.Code)
	}
	home := g.get(t, "/")
	for _, want := range []string{"does not follow catalog changes", "does not report processing problems"} {
		if !strings.Contains(home.body, want) {
			t.Errorf("home lacks %q", want)
		}
	}
}
