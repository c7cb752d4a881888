package techdocs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"golang.org/x/sync/errgroup"
)

// Limits bound what one build reads.
type Limits struct {
	// MaxFileBytes is the largest file read or copied (default 16 MiB).
	MaxFileBytes int64
	// MaxMarkdownBytes is the largest page parsed (default 4 MiB).
	MaxMarkdownBytes int64
	// MaxFiles is the most files in the docs directory (default 20,000).
	MaxFiles int
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 16 << 20
	}
	if l.MaxMarkdownBytes <= 0 {
		l.MaxMarkdownBytes = 4 << 20
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = 20_000
	}
	return l
}

// Options tune a build. The zero value builds like `mkdocs build`.
type Options struct {
	// ConfigFile is mkdocs.yml's path in the project (default mkdocs.yml,
	// then mkdocs.yaml).
	ConfigFile string
	// Env resolves mkdocs.yml's !ENV tags; nil resolves them to their
	// defaults only (the server's choice: a project must not read its
	// environment). The CLI passes os.LookupEnv.
	Env func(string) (string, bool)
	// Limits bound the input.
	Limits Limits
	// Now is the clock for build_timestamp (default time.Now).
	Now func() time.Time
	// Etag, when set, is written to techdocs_metadata.json as
	// techdocs-cli does (the source commit, typically).
	Etag string
	// Overwrite lets Build empty an existing non-empty output directory
	// that does not hold a previous build.
	Overwrite bool
}

// Result describes a finished build.
type Result struct {
	SiteName        string     `json:"site_name"`
	SiteDescription string     `json:"site_description,omitempty"`
	Pages           []PageInfo `json:"pages"`
	Nav             []*NavItem `json:"nav"`
	Warnings        []Warning  `json:"warnings,omitempty"`
	// Files are the written files relative to the output directory.
	Files    []string      `json:"files"`
	Duration time.Duration `json:"-"`
}

// PageInfo is a built page as the reader and the tests see it.
type PageInfo struct {
	Src     string     `json:"src"`
	URL     string     `json:"url"`
	Dest    string     `json:"dest"`
	Title   string     `json:"title"`
	TOC     []*TOCItem `json:"toc,omitempty"`
	Prev    string     `json:"prev,omitempty"`
	Next    string     `json:"next,omitempty"`
	EditURL string     `json:"edit_url,omitempty"`
	// Links are the page's rewritten link targets, in document order.
	Links []string `json:"links,omitempty"`
}

// SiteFile is the name of the file, beside techdocs_metadata.json, that
// holds the Result (nav, pages, TOCs, warnings) for the portal's reader.
const SiteFile = "greenroom_site.json"

// MetadataFile is techdocs-cli's metadata file name.
const MetadataFile = "techdocs_metadata.json"

// ErrInvalid marks errors caused by the project (not by the machine).
var ErrInvalid = errors.New("invalid docs project")

type builder struct {
	ctx      context.Context
	cfg      *Config
	opts     Options
	feat     features
	md       goldmark.Markdown
	policy   *bluemonday.Policy
	files    *fileSet
	pages    map[string]*Page
	order    []*Page // pages in nav order
	all      []*Page // pages in file order
	nav      []*NavItem
	mu       sync.Mutex
	warns    []Warning
	navMu    sync.Mutex
	navCache map[string]string
	docsDir  string
	// snippets is pymdownx.snippets' configuration, nil when off.
	snippets *snippetConfig
}

func (b *builder) warn(w Warning) {
	b.mu.Lock()
	b.warns = append(b.warns, w)
	b.mu.Unlock()
}

// Build builds the MkDocs project in srcDir into outDir. It reads only
// inside srcDir and writes only inside outDir. An error wrapping
// ErrInvalid means the project cannot be built as it is (its message says
// where); other problems are Result.Warnings.
func Build(ctx context.Context, srcDir, outDir string, opts Options) (*Result, error) {
	start := time.Now()
	b, err := prepare(ctx, srcDir, opts)
	if err != nil {
		return nil, err
	}
	if err := b.parseAll(); err != nil {
		return nil, err
	}
	b.buildNav()
	if err := b.renderAll(); err != nil {
		return nil, err
	}
	b.checkAnchors()
	res := b.result()
	if err := b.write(outDir, res); err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

func prepare(ctx context.Context, srcDir string, opts Options) (*builder, error) {
	opts.Limits = opts.Limits.withDefaults()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, err := LoadConfig(srcDir, opts.ConfigFile, opts.Env)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	dd := filepath.ToSlash(filepath.Clean(cfg.DocsDir))
	if filepath.IsAbs(cfg.DocsDir) || dd == ".." || strings.HasPrefix(dd, "../") || dd == "." {
		return nil, fmt.Errorf("%w: techdocs: %s: docs_dir %q must be a directory inside the project", ErrInvalid, cfg.File, cfg.DocsDir)
	}
	docsDir, err := resolveInside(srcDir, dd)
	if err != nil {
		return nil, fmt.Errorf("%w: techdocs: %s: docs_dir %q: %w", ErrInvalid, cfg.File, cfg.DocsDir, err)
	}
	b := &builder{ctx: ctx, cfg: cfg, opts: opts, pages: map[string]*Page{}, docsDir: docsDir, policy: sanitizer()}
	b.warns = append(b.warns, cfg.Warnings...)
	b.feat = featuresOf(cfg, b.warn)
	b.md = newMarkdown(b.feat)
	for _, e := range cfg.Extensions {
		if e.Name == "pymdownx.snippets" {
			b.snippets = snippetsOf(e, srcDir, b.warn)
		}
	}
	b.files, err = walkDocs(docsDir, cfg.UseDirectoryURLs, opts.Limits, func(w Warning) {
		w.File = path.Join(dd, w.File)
		b.warn(w)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return b, nil
}

// docPath is f's path relative to the project, for warnings.
func (b *builder) docPath(src string) string {
	return path.Join(filepath.ToSlash(filepath.Clean(b.cfg.DocsDir)), src)
}

func (b *builder) pageWarn(f *File) func(Warning) {
	return func(w Warning) {
		w.File = b.docPath(f.Src)
		b.warn(w)
	}
}

func (b *builder) parseAll() error {
	docs := b.files.docs()
	pages := make([]*Page, len(docs))
	g, ctx := errgroup.WithContext(b.ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, f := range docs {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			p, err := b.loadPage(f)
			if err != nil {
				return err
			}
			pages[i] = p
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, p := range pages {
		if p != nil {
			b.pages[p.File.Src] = p
			b.all = append(b.all, p)
		}
	}
	return nil
}

func (b *builder) loadPage(f *File) (*Page, error) {
	warn := b.pageWarn(f)
	if f.size > b.opts.Limits.MaxMarkdownBytes {
		warn(Warning{Message: fmt.Sprintf("page is %d bytes, larger than the limit of %d, and is skipped", f.size, b.opts.Limits.MaxMarkdownBytes)})
		return nil, nil
	}
	data, err := os.ReadFile(f.abs)
	if err != nil {
		return nil, fmt.Errorf("techdocs: read %s: %w", b.docPath(f.Src), err)
	}
	src, ok := decodeSource(f, data, warn)
	if !ok {
		return nil, nil
	}
	src, meta := splitMeta(f, src, warn)
	if b.snippets != nil {
		var missing []string
		src, missing = b.snippets.expand(src, b.opts.Limits.MaxMarkdownBytes, warn)
		if len(missing) > 0 {
			return nil, fmt.Errorf("%w: techdocs: %s: snippet %q could not be found (pymdownx.snippets check_paths is on)", ErrInvalid, b.docPath(f.Src), missing[0])
		}
	}
	src = fixSpacedLinks(src)
	p := &Page{File: f, src: src, Meta: meta}
	b.parsePage(p)
	return p, nil
}

func (b *builder) buildNav() {
	if b.cfg.Nav != nil {
		b.nav = b.navFromConfig(b.cfg.Nav)
	} else {
		b.nav = b.navFromFiles()
	}
	for _, p := range b.all {
		p.Title = b.pageTitle(p)
	}
	b.finishNav(b.nav, nil, &b.order)
	for i, p := range b.order {
		if i > 0 {
			p.Prev = b.order[i-1]
		}
		if i+1 < len(b.order) {
			p.Next = b.order[i+1]
		}
	}
}

// pageTitle is MkDocs 1.4's page title: the nav's, the front matter's,
// the first line's "# " heading, "Home" for the home page, else the file
// name made readable.
func (b *builder) pageTitle(p *Page) string {
	if p.navTitle != "" {
		return p.navTitle
	}
	if t, ok := p.Meta["title"]; ok {
		if s := fmt.Sprint(t); s != "" {
			return s
		}
	}
	if t := markdownTitle(p.src); t != "" {
		return t
	}
	if p.File.isIndex() && path.Dir(p.File.Src) == "." {
		return "Home"
	}
	t := strings.NewReplacer("-", " ", "_", " ").Replace(p.File.name())
	if strings.ToLower(t) == t {
		t = capitalize(t)
	}
	return t
}

func (b *builder) renderAll() error {
	g, ctx := errgroup.WithContext(b.ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, p := range b.all {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return b.renderPage(p)
		})
	}
	return g.Wait()
}

// idAttrs yields the values of the id attributes in html: the matches of
// `\sid="([^"]*)"`, found without a regular expression (which was a
// tenth of a large site's rendering).
func idAttrs(html []byte) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := 0; i < len(html); {
			k := bytes.Index(html[i:], []byte(`id="`))
			if k < 0 {
				return
			}
			k += i
			if k == 0 || !isSpace(html[k-1]) {
				i = k + 1
				continue
			}
			end := bytes.IndexByte(html[k+4:], '"')
			if end < 0 {
				return
			}
			if !yield(string(html[k+4 : k+4+end])) {
				return
			}
			i = k + 4 + end + 1
		}
	}
}

// isSpace is RE2's \s: [\t\n\f\r ].
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

func (b *builder) renderPage(p *Page) error {
	warn := b.pageWarn(p.File)
	_ = ast.Walk(p.doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch v := n.(type) {
		case *ast.Link:
			v.Destination = b.rewrite(p, v.Destination, false, nodeLine(n, p.src, v.Destination), warn)
			p.hrefs = append(p.hrefs, string(v.Destination))
		case *ast.Image:
			v.Destination = b.rewrite(p, v.Destination, true, nodeLine(n, p.src, v.Destination), warn)
			p.hrefs = append(p.hrefs, string(v.Destination))
		}
		return ast.WalkContinue, nil
	})
	buf := pageBufs.Get().(*bytes.Buffer)
	defer pageBufs.Put(buf)
	buf.Reset()
	if err := b.md.Renderer().Render(buf, p.src, p.doc); err != nil {
		return fmt.Errorf("techdocs: render %s: %w", b.docPath(p.File.Src), err)
	}
	p.html = b.policy.SanitizeBytes(buf.Bytes())
	for id := range idAttrs(p.html) {
		p.ids[id] = true
	}
	p.sections = searchSections(p.html)
	p.doc = nil // the AST is not needed any more
	return nil
}

// rewrite is MkDocs' link rewriting: a relative link to a file of the docs
// directory becomes that file's URL relative to the page; other links are
// kept. A missing target or anchor is a warning.
func (b *builder) rewrite(p *Page, dest []byte, image bool, line int, warn func(Warning)) []byte {
	raw := string(dest)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, "/") {
		return dest
	}
	if u.Path == "" && u.Fragment != "" {
		p.links = append(p.links, pageLink{dest: raw, line: line, anchor: u.Fragment})
		return dest
	}
	_, last := path.Split(u.Path)
	if !strings.Contains(last, ".") {
		return dest
	}
	target := path.Clean(path.Join(path.Dir(p.File.Src), unquote(u.Path)))
	if target == ".." || strings.HasPrefix(target, "../") {
		warn(Warning{Line: line, Message: fmt.Sprintf("link to %q leaves the docs directory", raw)})
		return dest
	}
	f := b.files.bySrc[target]
	if f == nil {
		kind := "link"
		if image {
			kind = "image"
		}
		warn(Warning{Line: line, Message: fmt.Sprintf("%s to %q: %s is not found in the documentation files", kind, raw, target)})
		return dest
	}
	if f.Doc && u.Fragment != "" {
		p.links = append(p.links, pageLink{dest: raw, line: line, anchor: u.Fragment, target: f})
	}
	out := url.URL{Path: "X", RawQuery: u.RawQuery, Fragment: u.Fragment}
	s := out.String()
	rel := relativeURL(f.URL, p.File.URL)
	return []byte(rel + s[1:])
}

func (b *builder) checkAnchors() {
	for _, p := range b.all {
		b.checkAnchorsOf(p)
	}
}

// checkAnchorsOf warns about p's links to missing anchors.
func (b *builder) checkAnchorsOf(p *Page) {
	{
		for _, l := range p.links {
			t := p
			if l.target != nil {
				if t = b.pages[l.target.Src]; t == nil {
					continue
				}
			}
			anchor := unquote(l.anchor)
			if !t.ids[anchor] {
				b.warn(Warning{File: b.docPath(p.File.Src), Line: l.line,
					Message: fmt.Sprintf("link to %q: no anchor #%s in %s", l.dest, anchor, b.docPath(t.File.Src))})
			}
		}
	}
}

func (b *builder) editURL(f *File) string {
	if b.cfg.RepoURL == "" || b.cfg.EditURI == "" {
		return ""
	}
	base, err := url.Parse(strings.TrimSuffix(b.cfg.RepoURL, "/") + "/")
	if err != nil {
		return ""
	}
	ref, err := url.Parse(b.cfg.EditURI + f.Src)
	if err != nil {
		return ""
	}
	return base.ResolveReference(ref).String()
}

func (b *builder) result() *Result {
	res := &Result{SiteName: b.cfg.SiteName, SiteDescription: b.cfg.SiteDescription, Nav: b.nav}
	for _, p := range b.all {
		pi := PageInfo{Src: p.File.Src, URL: pageURL(p.File), Dest: p.File.Dest, Title: p.Title, TOC: p.TOC, EditURL: b.editURL(p.File), Links: p.hrefs}
		if p.Prev != nil {
			pi.Prev = pageURL(p.Prev.File)
		}
		if p.Next != nil {
			pi.Next = pageURL(p.Next.File)
		}
		res.Pages = append(res.Pages, pi)
	}
	slices.SortStableFunc(b.warns, func(x, y Warning) int {
		if c := strings.Compare(x.File, y.File); c != 0 {
			return c
		}
		return x.Line - y.Line
	})
	res.Warnings = b.warns
	return res
}

// copyFile copies a docs asset, refusing anything larger than the limit.
func copyFile(dst, src string, limit int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, io.LimitReader(in, limit)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func writeJSON(p string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

func jsonBytes(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
