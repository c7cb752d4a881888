package feishu

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"

	"greenroom/internal/greenroom"
)

// DocsBuilder builds a service's docs for validation: the TechDocs builder
// implements it, DefaultBuilder is the in-package stand-in. Build returns
// the pages built (paths relative to docs_dir) and the problems found
// (broken links with file and line); an error means the site could not be
// built at all.
type DocsBuilder interface {
	Build(ctx context.Context, dir string) ([]BuiltPage, []BuildWarning, error)
}

// BuiltPage is one page of a build.
type BuiltPage struct {
	Path    string   `json:"path"`
	Anchors []string `json:"anchors,omitempty"`
}

// BuildWarning is a problem at a place in the docs.
type BuildWarning struct {
	File    string `json:"file"` // relative to docs_dir
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func (w BuildWarning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Message)
	}
	return w.File + ": " + w.Message
}

// Validation is the seed's ValidationReport.
type Validation struct {
	OK        bool           `json:"ok"`
	CheckedAt time.Time      `json:"checkedAt"`
	Pages     int            `json:"pages"`
	Problems  []BuildWarning `json:"problems"`
}

// Validate rebuilds the target's docs and checks that every page the
// migration wrote was built and that every link in them resolves. The
// result is stored in the report.
func (s *Service) Validate(ctx context.Context, id string) (Validation, error) {
	m, err := s.store.FeishuMigration(ctx, id)
	if err != nil {
		return Validation{}, err
	}
	if m.Status == StatusQueued || m.Status == StatusRunning {
		return Validation{}, greenroom.Errorf(greenroom.CodeConflict, "migration %s is %s; validate it once it has finished", id, m.Status)
	}
	v := Validation{CheckedAt: s.now().UTC(), Problems: []BuildWarning{}}
	pages, warnings, err := s.builder.Build(ctx, m.Request.TargetDir)
	if err != nil {
		v.Problems = append(v.Problems, BuildWarning{File: "mkdocs.yml", Message: "the docs do not build: " + err.Error()})
	}
	built := map[string]bool{}
	for _, p := range pages {
		built[p.Path] = true
	}
	ours := map[string]bool{}
	prefix := m.Report.DocsDir + "/"
	for _, d := range m.Report.Documents {
		if d.Status != DocMigrated || m.Status == StatusRolledBack {
			continue
		}
		rel := strings.TrimPrefix(d.Path, prefix)
		ours[rel] = true
		v.Pages++
		if err == nil && !built[rel] {
			v.Problems = append(v.Problems, BuildWarning{File: rel, Message: "migrated page was not built"})
		}
	}
	for _, w := range warnings {
		if ours[w.File] {
			v.Problems = append(v.Problems, w)
		}
	}
	v.OK = len(v.Problems) == 0
	m.Report.Validation = &v
	if err := s.save(ctx, &m); err != nil {
		return v, err
	}
	return v, nil
}

// DefaultBuilder renders every Markdown page of docs_dir with goldmark
// (GFM) and checks relative links and anchors between them. It reads only
// inside the directory and never follows symlinks out of it.
type DefaultBuilder struct{}

// Bounds of the default build.
const (
	maxBuildPages     = 5000
	maxBuildPageBytes = 8 << 20
)

type parsedPage struct {
	path    string
	anchors map[string]bool
	links   []pageLink
}

type pageLink struct {
	dest string
	line int
}

// Build implements DocsBuilder.
func (DefaultBuilder) Build(ctx context.Context, dir string) ([]BuiltPage, []BuildWarning, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	docsDir := "docs"
	if src, err := root.ReadFile("mkdocs.yml"); err == nil {
		if docsDir, err = docsDirOf(src); err != nil {
			return nil, nil, err
		}
	}
	docs, err := root.OpenRoot(docsDir)
	if err != nil {
		return nil, nil, fmt.Errorf("docs_dir %s: %w", docsDir, err)
	}
	defer docs.Close()
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	var warnings []BuildWarning
	pages := map[string]*parsedPage{}
	var order []string
	files := map[string]bool{}
	err = fs.WalkDir(docs.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			warnings = append(warnings, BuildWarning{File: p, Message: err.Error()})
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		files[p] = true
		if !strings.HasSuffix(p, ".md") {
			return nil
		}
		if len(pages) >= maxBuildPages {
			return fmt.Errorf("more than %d pages", maxBuildPages)
		}
		src, err := docs.ReadFile(p)
		switch {
		case err != nil:
			warnings = append(warnings, BuildWarning{File: p, Message: err.Error()})
			return nil
		case len(src) > maxBuildPageBytes:
			warnings = append(warnings, BuildWarning{File: p, Message: fmt.Sprintf("larger than %d bytes; not built", maxBuildPageBytes)})
			return nil
		case !utf8.Valid(src) || bytes.IndexByte(src, 0) >= 0:
			warnings = append(warnings, BuildWarning{File: p, Message: "not UTF-8 text; not built"})
			return nil
		}
		pg, err := parsePage(md, p, src)
		if err != nil {
			warnings = append(warnings, BuildWarning{File: p, Message: "does not render: " + err.Error()})
			return nil
		}
		pages[p] = pg
		order = append(order, p)
		return nil
	})
	if err != nil {
		return nil, warnings, err
	}
	out := make([]BuiltPage, 0, len(order))
	for _, p := range order {
		pg := pages[p]
		bp := BuiltPage{Path: p}
		for a := range pg.anchors {
			bp.Anchors = append(bp.Anchors, a)
		}
		out = append(out, bp)
		for _, l := range pg.links {
			if msg := checkLink(pg.path, l.dest, pages, files); msg != "" {
				warnings = append(warnings, BuildWarning{File: p, Line: l.line, Message: msg})
			}
		}
	}
	return out, warnings, nil
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// checkLink returns why a relative link does not resolve, or "".
func checkLink(from, dest string, pages map[string]*parsedPage, files map[string]bool) string {
	if dest == "" || schemeRE.MatchString(dest) || strings.HasPrefix(dest, "//") {
		return "" // external or data: URI
	}
	target, frag, _ := strings.Cut(dest, "#")
	if t, err := url.PathUnescape(target); err == nil {
		target = t
	}
	p := from
	if target != "" {
		if strings.HasPrefix(target, "/") {
			return fmt.Sprintf("link %q is absolute; MkDocs cannot resolve it", dest)
		}
		joined := path.Join(path.Dir(from), target)
		if joined == ".." || strings.HasPrefix(joined, "../") {
			return fmt.Sprintf("link %q leaves the docs directory", dest)
		}
		p = joined
	}
	pg, isPage := pages[p]
	if !isPage {
		if files[p] {
			return ""
		}
		return fmt.Sprintf("link %q: %s does not exist", dest, p)
	}
	if frag != "" && !pg.anchors[frag] {
		return fmt.Sprintf("link %q: %s has no heading #%s", dest, p, frag)
	}
	return ""
}

// parsePage parses and renders a page, collecting its anchors and links.
func parsePage(md goldmark.Markdown, p string, src []byte) (*parsedPage, error) {
	doc := md.Parser().Parse(text.NewReader(src))
	if err := md.Renderer().Render(io.Discard, src, doc); err != nil {
		return nil, err
	}
	pg := &parsedPage{path: p, anchors: map[string]bool{}}
	seen := map[string]int{}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch v := n.(type) {
		case *ast.Heading:
			id := TOCSlug(plainText(v, src))
			if k := seen[id]; k > 0 {
				seen[id] = k + 1
				id = id + "_" + strconv.Itoa(k)
			} else {
				seen[id] = 1
			}
			pg.anchors[id] = true
		case *ast.Link:
			pg.links = append(pg.links, pageLink{dest: string(v.Destination), line: lineOf(v, src)})
		case *ast.Image:
			pg.links = append(pg.links, pageLink{dest: string(v.Destination), line: lineOf(v, src)})
		}
		return ast.WalkContinue, nil
	})
	return pg, nil
}

func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := c.(type) {
		case *ast.Text:
			b.Write(t.Segment.Value(src))
		case *ast.String:
			b.Write(t.Value)
		case *ast.CodeSpan:
			for k := t.FirstChild(); k != nil; k = k.NextSibling() {
				if tx, ok := k.(*ast.Text); ok {
					b.Write(tx.Segment.Value(src))
				}
			}
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// lineOf finds the line of an inline node from its nearest block.
func lineOf(n ast.Node, src []byte) int {
	for p := n; p != nil; p = p.Parent() {
		if p.Type() == ast.TypeBlock && p.Lines().Len() > 0 {
			return bytes.Count(src[:p.Lines().At(0).Start], []byte("\n")) + 1
		}
	}
	return 0
}

var (
	slugStrip = regexp.MustCompile(`[^\p{L}\p{N}_\s-]`)
	slugSpace = regexp.MustCompile(`[-\s]+`)
)

// TOCSlug is Python-Markdown toc's slugify with Unicode kept: punctuation
// dropped, lower-cased, runs of spaces and hyphens one '-'.
func TOCSlug(s string) string {
	s = strings.ToLower(strings.TrimSpace(slugStrip.ReplaceAllString(s, "")))
	return slugSpace.ReplaceAllString(s, "-")
}
