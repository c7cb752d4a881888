package search

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/examples"
	"greenroom/internal/catalog"
	"greenroom/internal/catalog/catalogtest"
	"greenroom/internal/greenroom"
	"greenroom/internal/store/storetest"
)

// docsSource is the test collator for doc pages: the handwritten pages of
// testdata/docs (sections split at "## Heading {#anchor}") and n generated
// pages made of the catalog generator's vocabulary.
type docsSource struct {
	dir       string
	generated int
	fail      error
}

func (d docsSource) Name() string { return "docs" }

var headingRE = regexp.MustCompile(`^## (.+?) \{#([a-z0-9-]+)\}$`)

func (d docsSource) Collect(ctx context.Context, emit func(Document) error) error {
	if d.fail != nil {
		return d.fail
	}
	pages, err := readDocs(d.dir)
	if err != nil {
		return err
	}
	pages = append(pages, generatedPages(d.generated)...)
	for _, p := range pages {
		if err := emit(p); err != nil {
			return err
		}
	}
	return nil
}

func readDocs(dir string) ([]Document, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return nil, err
	}
	var out []Document
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		meta := map[string]string{}
		var secs []Section
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		front := 0
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "---":
				front++
			case front == 1:
				k, v, _ := strings.Cut(line, ": ")
				meta[k] = v
			case headingRE.MatchString(line):
				m := headingRE.FindStringSubmatch(line)
				secs = append(secs, Section{Heading: m[1], Anchor: m[2]})
			case len(secs) > 0:
				secs[len(secs)-1].Text += line + "\n"
			}
		}
		out = append(out, docPage(meta["entity"], meta["path"], meta["title"], secs))
	}
	return out, nil
}

func docPage(entity, path, title string, secs []Section) Document {
	r, err := greenroom.ParseEntityRef(entity, "component", "default")
	if err != nil {
		panic(err)
	}
	ref := strings.ToLower(r.String())
	return Document{
		Type: TypeTechDocs, ID: ref + "/" + path, Title: title, Sections: secs,
		Location: "/docs/" + strings.ToLower(r.Namespace) + "/" + strings.ToLower(r.Kind) + "/" + r.Name + "/" + path,
		Kind:     r.Kind, Namespace: r.Namespace, Ref: ref, Category: CategoryDocs,
	}
}

// generatedPages returns n doc pages of filler prose over the generated
// catalog's vocabulary, each with three sections.
func generatedPages(n int) []Document {
	w := catalogtest.Words()
	out := make([]Document, 0, n)
	for i := range n {
		secs := make([]Section, 3)
		for s := range secs {
			var b strings.Builder
			for k := range 60 {
				b.WriteString(w[(i*7+s*13+k*k)%len(w)])
				b.WriteString(" ")
			}
			secs[s] = Section{Anchor: fmt.Sprintf("part-%d", s+1), Heading: fmt.Sprintf("%s notes %d", w[(i+s)%len(w)], s+1), Text: b.String()}
		}
		out = append(out, docPage(fmt.Sprintf("component:default/generated-docs-%d", i%50), fmt.Sprintf("page-%d", i),
			fmt.Sprintf("%s %s handbook %d", w[i%len(w)], w[(i/len(w))%len(w)], i), secs))
	}
	return out
}

// memStore is an EntityStore over fixed entity bodies, for the generated
// catalog (the demo company goes through the real catalog and store).
type memStore struct {
	mu   sync.Mutex
	recs []catalog.Record
}

func (m *memStore) ListEntities(_ context.Context, q catalog.Query) ([]catalog.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if q.Offset >= len(m.recs) {
		return nil, nil
	}
	end := len(m.recs)
	if q.Limit > 0 {
		end = min(end, q.Offset+q.Limit)
	}
	return slices.Clone(m.recs[q.Offset:end]), nil
}

func (m *memStore) EntityByRef(_ context.Context, ref string) (catalog.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.recs {
		if r.Ref == ref {
			return r, nil
		}
	}
	return catalog.Record{}, greenroom.Errorf(greenroom.CodeNotFound, "no %s", ref)
}

func generatedStore(t testing.TB, n int) *memStore {
	t.Helper()
	ents, err := catalogtest.Generate(n, 7)
	if err != nil {
		t.Fatal(err)
	}
	m := &memStore{}
	for _, e := range ents {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		m.recs = append(m.recs, catalog.Record{Ref: strings.ToLower(e.Ref()), Body: b, UpdatedAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
	}
	return m
}

// demoCatalog loads the demo company through the real catalog into a
// SQLite store.
func demoCatalog(t testing.TB) (*catalog.Service, EntityStore) {
	t.Helper()
	st := storetest.SQLite(t)
	svc, err := catalog.NewService(st, []catalog.Source{{Name: "demo", FS: examples.FS, Root: examples.Root}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc, st
}

// startService builds the index from sources and waits for the build.
func startService(t testing.TB, dir string, sources ...Source) *Service {
	t.Helper()
	svc, err := NewService(Options{Dir: dir}, sources...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		svc.Close()
	})
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitBuilt(t, svc)
	return svc
}

func waitBuilt(t testing.TB, svc *Service) {
	t.Helper()
	waitBuiltWithin(t, svc, 60*time.Second)
}

func waitBuiltWithin(t testing.TB, svc *Service, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if st := svc.Status(); !st.LastBuild.IsZero() && !st.Building {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("index not built within %v", within)
}

func testdataDocs() string { return filepath.Join("testdata", "docs") }

var _ fs.FS = examples.FS

func recordOf(t testing.TB, body string, at time.Time) catalog.Record {
	t.Helper()
	d, err := EntityDocument([]byte(body), at)
	if err != nil {
		t.Fatal(err)
	}
	return catalog.Record{Ref: d.Ref, Body: []byte(body), UpdatedAt: at}
}

func catalogFileSource(dir string) ([]catalog.Source, error) {
	return []catalog.Source{{Name: "provider:test:" + dir, FS: os.DirFS(dir), Root: "all.yaml"}}, nil
}
