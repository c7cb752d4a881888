package techdocs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// FuzzLoadConfig reads arbitrary bytes as mkdocs.yml. It must not panic,
// and an error must name the file. Seeds: testdata/fuzz/FuzzLoadConfig and
// the test projects' mkdocs.yml.
func FuzzLoadConfig(f *testing.F) {
	for _, p := range []string{"service", "handbook", "edge"} {
		if data, err := os.ReadFile(filepath.Join("testdata", "projects", p, "mkdocs.yml")); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("site_name: !ENV [A, 'b']\nnav:\n  - A: [x.md, {B: []}]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "mkdocs.yml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(dir, "", nil)
		if err != nil {
			if !strings.Contains(err.Error(), "mkdocs.yml") && !strings.Contains(err.Error(), "INHERIT") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if c.SiteName == "" {
			t.Fatal("config without site_name accepted")
		}
	})
}

var unsafeRE = regexp.MustCompile(`(?i)<script|<iframe|\son[a-z]+\s*=|javascript:|<style`)

// FuzzMarkdown renders arbitrary Markdown with every extension on. It must
// not panic, and the sanitized HTML must carry no script, handler or
// frame. Seeds: testdata/fuzz/FuzzMarkdown and the test projects' pages.
func FuzzMarkdown(f *testing.F) {
	_ = filepath.Walk(filepath.Join("testdata", "projects", "service", "docs"), func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".md") {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
		return nil
	})
	f.Add([]byte("!!! note \"x\"\n    ??? tip\n        <script>alert(1)</script>\n*[A]: b\nA [l](<a b.md>)\n"))
	cfg := &Config{SiteName: "f", Extensions: []Extension{{Name: "admonition"}, {Name: "pymdownx.details"}, {Name: "extra"}, {Name: "pymdownx.tasklist"}}}
	b := &builder{ctx: context.Background(), cfg: cfg, policy: newSanitizer(), files: &fileSet{bySrc: map[string]*File{}}, pages: map[string]*Page{}}
	b.feat = featuresOf(cfg, func(Warning) {})
	b.md = newMarkdown(b.feat)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		// A hang is a failure too: the fuzzer saves the input of a worker
		// that panics.
		timer := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("FuzzMarkdown: no result after 10s for %q", data)) })
		defer timer.Stop()
		file := &File{Src: "a/p.md", Doc: true, URL: "a/p/"}
		src, ok := decodeSource(file, data, func(Warning) {})
		if !ok {
			return
		}
		src, _ = splitMeta(file, src, func(Warning) {})
		src = fixSpacedLinks(src)
		p := &Page{File: file, src: src}
		b.parsePage(p)
		if err := b.renderPage(p); err != nil {
			t.Fatal(err)
		}
		if m := unsafeRE.Find(p.html); m != nil && !bytes.Contains(p.html, []byte("&lt;")) {
			t.Fatalf("unsafe HTML %q in %q", m, p.html)
		}
	})
}
