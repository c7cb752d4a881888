package search

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

func TestEntityDocument(t *testing.T) {
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, body string
		check      func(t *testing.T, d Document)
	}{
		{"template", `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"go-service","title":"Go service","tags":["go"]},"spec":{"type":"service","owner":"team-platform"}}`,
			func(t *testing.T, d Document) {
				if d.Category != CategoryTemplates || d.Kind != "template" || d.Owner != "group:default/team-platform" || d.Title != "Go service" {
					t.Errorf("%+v", d)
				}
				if d.Type != TypeTemplate || d.Location != "/create/templates/default/go-service" || d.Key() != entityKey("Template:default/go-service") {
					t.Errorf("type %q, location %q, key %q", d.Type, d.Location, d.Key())
				}
			}},
		{"template parameters", `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"web","namespace":"Platform"},"spec":{"type":"website","parameters":[{"title":"Describe the website","properties":{"name":{"title":"Name","description":"Lowercase letters"},"owner":{"title":"Owner"}}},{"title":"Choose a repository","properties":{"repoUrl":{"title":"Repository location"}}},"bad"]}}`,
			func(t *testing.T, d Document) {
				for _, w := range []string{"Describe the website", "Choose a repository", "Lowercase letters", "Repository location"} {
					if !strings.Contains(d.Text, w) {
						t.Errorf("text %q lacks %q", d.Text, w)
					}
				}
				if !slices.Equal(d.Keywords, []string{"Name", "Owner", "Repository location"}) || d.Location != "/create/templates/platform/web" {
					t.Errorf("keywords %v, location %s", d.Keywords, d.Location)
				}
			}},
		{"template with one parameter step", `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"one"},"spec":{"parameters":{"title":"Only step","properties":{"x":{"title":"Cluster name"}}}}}`,
			func(t *testing.T, d Document) {
				if !strings.Contains(d.Text, "Only step") || !slices.Contains(d.Keywords, "Cluster name") {
					t.Errorf("text %q keywords %v", d.Text, d.Keywords)
				}
			}},
		{"user", `{"apiVersion":"backstage.io/v1alpha1","kind":"User","metadata":{"name":"jane"},"spec":{"profile":{"displayName":"Jane Doe","email":"jane@example.com"},"memberOf":["team-a"]},"relations":[{"type":"memberOf","targetRef":"group:default/team-a"}]}`,
			func(t *testing.T, d Document) {
				if d.Category != CategoryPeople || d.Title != "Jane Doe" || !slices.Contains(d.Keywords, "jane@example.com") || !slices.Contains(d.Keywords, "team-a") {
					t.Errorf("%+v", d)
				}
			}},
		{"group members", `{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"team-a","namespace":"Ops"},"spec":{"type":"team","profile":{"displayName":"Team A"},"children":[],"members":["jane","joe"]}}`,
			func(t *testing.T, d Document) {
				if d.Ref != "group:ops/team-a" || d.Namespace != "Ops" || !slices.Contains(d.Keywords, "joe") || d.Location != "/catalog/ops/group/team-a" {
					t.Errorf("%+v", d)
				}
			}},
		{"readable annotations", `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"svc","description":"Does things","annotations":{"argocd/app-name":"svc-prod","x/y":"hidden"}},"spec":{"type":"service","lifecycle":"production","owner":"group:other/team-b","system":"core"}}`,
			func(t *testing.T, d Document) {
				if !strings.Contains(d.Text, "Argo CD application: svc-prod") || strings.Contains(d.Text, "hidden") || d.System != "system:default/core" || d.Owner != "group:other/team-b" || !d.UpdatedAt.Equal(at) {
					t.Errorf("%+v", d)
				}
				if d.Fields["componentType"] != "service" || d.Description != "Does things" || strings.Contains(d.Text, "Does things") {
					t.Errorf("fields %v, text %q", d.Fields, d.Text)
				}
			}},
		{"api operations", `{"apiVersion":"backstage.io/v1alpha1","kind":"API","metadata":{"name":"pets"},"spec":{"type":"openapi","lifecycle":"production","owner":"a","definition":"openapi: 3.0.0\ninfo: {title: Pets, version: '1'}\npaths:\n  /pets:\n    get:\n      operationId: listPets\n      summary: List all pets\ncomponents:\n  schemas:\n    Pet: {type: object}\n"}}`,
			func(t *testing.T, d Document) {
				if !slices.Contains(d.Keywords, "listPets") || !slices.Contains(d.Keywords, "Pet") || !strings.Contains(d.Text, "GET /pets listPets List all pets") || d.Category != CategoryAPIs {
					t.Errorf("keywords %v\ntext %q", d.Keywords, d.Text)
				}
			}},
		{"unreadable definition still indexes the entity", `{"apiVersion":"backstage.io/v1alpha1","kind":"API","metadata":{"name":"bad"},"spec":{"type":"openapi","lifecycle":"production","owner":"a","definition":"{{{"}}`,
			func(t *testing.T, d Document) {
				if d.Name != "bad" || len(d.Keywords) != 0 {
					t.Errorf("%+v", d)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := EntityDocument([]byte(tt.body), at)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, d)
		})
	}
	for _, bad := range []string{`{`, `{"kind":"Component"}`, `[]`} {
		if _, err := EntityDocument([]byte(bad), at); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// Templates are their own result type, found by their parameters' titles
// and opening the create form; a change to a template (added, edited,
// deleted in the catalog) is searchable within a second.
func TestTemplatesSearchable(t *testing.T) {
	cat, st := demoCatalog(t)
	svc := startService(t, t.TempDir(), NewCatalogSource(st, cat))
	time.Sleep(50 * time.Millisecond) // the feed subscribes
	dir := t.TempDir()
	write := func(title, field string) {
		body := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: quokka-app\n  title: " + title +
			"\n  description: Starts a quokka app\n  tags: [marsupial]\nspec:\n  owner: team-data\n  type: service\n  parameters:\n    - title: Pick a burrow\n      properties:\n        burrow:\n          title: " + field +
			"\n  steps:\n    - id: log\n      action: debug:log\n"
		if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := catalogFileSource(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cat.ApplyProvider(context.Background(), "test", src); err != nil {
			t.Fatal(err)
		}
	}
	find := func(term string) []Hit {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for {
			res, err := svc.Search(context.Background(), Query{Term: term, Types: []string{TypeTemplate}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) > 0 || time.Now().After(deadline) {
				return res.Hits
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	write("Quokka app", "Burrow depth")
	for _, term := range []string{"quokka app", "burrow depth", "marsupial"} {
		hits := find(term)
		if len(hits) == 0 {
			t.Fatalf("%q: template not found within 1 s", term)
		}
		d := hits[0].Document
		if d.Type != TypeTemplate || d.Location != "/create/templates/default/quokka-app" || d.Category != CategoryTemplates {
			t.Fatalf("%q: %+v", term, d)
		}
	}
	sugg, err := svc.Suggest(context.Background(), "quok", []string{TypeTemplate}, 8)
	if err != nil || len(sugg) != 1 || sugg[0].Type != TypeTemplate || sugg[0].Location != "/create/templates/default/quokka-app" {
		t.Fatalf("suggestions %+v, %v", sugg, err)
	}
	// Templates are not catalog documents: a software-catalog search
	// leaves them out.
	res, err := svc.Search(context.Background(), Query{Term: "quokka app", Types: []string{TypeCatalog}})
	if err != nil || res.Total != 0 {
		t.Fatalf("catalog-only search finds %d (%v)", res.Total, err)
	}
	write("Quokka app", "Tunnel length")
	if len(find("tunnel length")) == 0 {
		t.Fatal("edited template parameter not found within 1 s")
	}
	// Deleted in the catalog, gone from search.
	body, err := cat.EntityByName(context.Background(), greenroom.EntityRef{Kind: "template", Namespace: "default", Name: "quokka-app"})
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Metadata struct{ UID string } `json:"metadata"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if err := cat.DeleteEntityByUID(context.Background(), e.Metadata.UID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		res, err := svc.Search(context.Background(), Query{Term: "quokka", Types: []string{TypeTemplate}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("deleted template still found after 1 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func FuzzQueryTerm(f *testing.F) {
	for _, s := range []string{"pay", `"*~:(`, "AND OR NOT", "发布流程", "a\x00b", strings.Repeat("x", 1001), "payments-api v2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CleanTerm(s)
		if err != nil {
			return
		}
		for _, w := range tokens(c) {
			if w.text == "" || strings.ContainsAny(w.text, " \"*~:()") {
				t.Fatalf("%q: token %q", s, w.text)
			}
		}
		if len(tokens(c)) > MaxTokens {
			t.Fatalf("%q: %d tokens", s, len(tokens(c)))
		}
	})
}

// bulkEvents is an EventSubscriber whose catalog loads in bulk while
// loading is open.
type bulkEvents struct {
	c       chan catalog.Event
	mu      sync.Mutex
	loading chan struct{}
}

func (b *bulkEvents) Subscribe(context.Context) (*catalog.Subscription, error) {
	return &catalog.Subscription{C: b.c}, nil
}

func (b *bulkEvents) BulkLoad() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.loading == nil {
		return nil // a nil channel, not a nil *chan in the interface
	}
	return b.loading
}

func (b *bulkEvents) setLoading(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case on && b.loading == nil:
		b.loading = make(chan struct{})
	case !on && b.loading != nil:
		close(b.loading)
		b.loading = nil
	}
}

// During a bulk load the catalog feed only notes the entities its events
// name; once the load ends it indexes each once, as it is then (deleting
// those gone), and outside a load every event is indexed at once.
func TestCatalogFeedWaitsForBulkLoad(t *testing.T) {
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	comp := func(name string) catalog.Record {
		return recordOf(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"`+name+`"},"spec":{"type":"service"}}`, at)
	}
	st := &memStore{recs: []catalog.Record{comp("a"), comp("b")}}
	ev := &bulkEvents{c: make(chan catalog.Event, 16)}
	applied := make(chan Change, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		done <- NewCatalogSource(st, ev).Watch(ctx, func(_ context.Context, c Change) error { applied <- c; return nil })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	keys := func(c Change) (up, del []string) {
		for _, d := range c.Upsert {
			up = append(up, d.Key())
		}
		return up, c.Delete
	}
	next := func() Change {
		t.Helper()
		select {
		case c := <-applied:
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("no change applied")
			return Change{}
		}
	}

	ev.setLoading(true)
	for _, e := range []catalog.Event{{Type: catalog.EventCreated, Ref: "component:default/a"}, {Type: catalog.EventUpdated, Ref: "component:default/a"}, {Type: catalog.EventCreated, Ref: "component:default/b"}} {
		ev.c <- e
	}
	select {
	case c := <-applied:
		t.Fatalf("applied during the bulk load: %+v", c)
	case <-time.After(200 * time.Millisecond):
	}
	st.mu.Lock()
	st.recs = st.recs[:1] // b is gone by the end of the load
	st.mu.Unlock()
	ev.setLoading(false)
	up, del := keys(next())
	if !slices.Equal(up, []string{entityKey("component:default/a")}) || !slices.Equal(del, []string{entityKey("component:default/b")}) {
		t.Fatalf("after the load: upserts %v, deletes %v; want a once, b deleted", up, del)
	}

	ev.c <- catalog.Event{Type: catalog.EventUpdated, Ref: "component:default/a"}
	if up, del := keys(next()); !slices.Equal(up, []string{entityKey("component:default/a")}) || len(del) != 0 {
		t.Fatalf("outside a load: upserts %v, deletes %v", up, del)
	}
}
