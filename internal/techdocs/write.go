package techdocs

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	"runtime"
)

//go:embed theme
var themeFS embed.FS

var (
	cssOnce  sync.Once
	cssBytes []byte
)

// themeCSS is the theme's stylesheet plus Pygments-class highlighting for
// light and dark schemes (theme/highlight.css, generated from chroma's
// github styles by TestHighlightCSS -update: importing chroma's styles
// costs every process start tens of milliseconds).
func themeCSS() []byte {
	cssOnce.Do(func() {
		base, _ := themeFS.ReadFile("theme/greenroom-docs.css")
		hl, _ := themeFS.ReadFile("theme/highlight.css")
		cssBytes = append(append(base, '\n'), hl...)
	})
	return cssBytes
}

type navView struct {
	Title, Href, Kind string
	Active            bool
	Children          []navView
}

type pageView struct {
	SiteName, SiteDescription, Title, Base, EditURL string
	IsHome                                          bool
	Nav                                             template.HTML
	TOC                                             []*TOCItem
	Content, Mark, EndMark                          template.HTML
	Prev, Next                                      *navView
}

// navViews is the nav with page links as base + the page's URL, so that
// one rendering serves every page at the same depth.
func navViews(items []*NavItem, base string) []navView {
	out := make([]navView, 0, len(items))
	for _, it := range items {
		v := navView{Title: it.Title, Kind: it.Kind}
		switch it.Kind {
		case "page":
			v.Href = base + it.page.File.URL
			if v.Href == "" || strings.HasSuffix(v.Href, "./") && it.page.File.URL == "./" {
				v.Href = strings.TrimSuffix(v.Href, "./")
				if v.Href == "" {
					v.Href = "./"
				}
			}
		case "link":
			v.Href = it.URL
		case "section":
			v.Children = navViews(it.Children, base)
		}
		out = append(out, v)
	}
	return out
}

// navHTML renders the nav for pages whose way to the site root is base,
// once per base: rendering the whole nav into every page is most of a big
// site's build otherwise.
func (b *builder) navHTML(base string) (string, error) {
	b.navMu.Lock()
	defer b.navMu.Unlock()
	if h, ok := b.navCache[base]; ok {
		return h, nil
	}
	var buf bytes.Buffer
	writeNav(&buf, navViews(b.nav, base))
	if b.navCache == nil {
		b.navCache = map[string]string{}
	}
	b.navCache[base] = buf.String()
	return buf.String(), nil
}

// pageBufs hold pages' HTML while they are written: a page of a large
// site is mostly its nav (100 kB for 1,000 pages), and allocating and
// clearing a buffer that size for every page showed in profiles.
var pageBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (b *builder) renderHTML(p *Page) ([]byte, error) {
	var buf bytes.Buffer
	if err := b.renderHTMLTo(&buf, p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// renderHTMLTo writes p's HTML to buf.
func (b *builder) renderHTMLTo(buf *bytes.Buffer, p *Page) error {
	base := relativeURL("./", p.File.URL)
	if base == "./" {
		base = ""
	}
	nav, err := b.navHTML(base)
	if err != nil {
		return err
	}
	self := navViews([]*NavItem{{Kind: "page", page: p}}, base)[0].Href
	v := pageView{
		SiteName: b.cfg.SiteName, SiteDescription: b.cfg.SiteDescription, Title: p.Title,
		Base:    base,
		EditURL: b.editURL(p.File), IsHome: pageURL(p.File) == "",
		Nav: template.HTML(nav), TOC: p.TOC,
		Content: template.HTML(p.html), // sanitized by renderPage
		Mark:    template.HTML(contentStart), EndMark: template.HTML(contentEnd),
	}
	if p.Prev != nil {
		v.Prev = &navView{Title: p.Prev.Title, Href: relativeURL(p.Prev.File.URL, p.File.URL)}
	}
	if p.Next != nil {
		v.Next = &navView{Title: p.Next.Title, Href: relativeURL(p.Next.File.URL, p.File.URL)}
	}
	buf.Grow(len(nav) + len(p.html) + 4096)
	writePage(buf, &v, self)
	return nil
}

// prepareOut checks that outDir may hold the build and makes it ready
// for the files want: it refuses a non-empty directory that holds
// something other than a previous build unless opts.Overwrite.
func (b *builder) prepareOut(outDir string, want []string) (*outTree, error) {
	if within(b.docsDir, mustAbs(outDir)) {
		return nil, fmt.Errorf("%w: techdocs: the output directory %s is inside the docs directory", ErrInvalid, outDir)
	}
	entries, err := os.ReadDir(outDir)
	switch {
	case os.IsNotExist(err):
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return nil, err
		}
		return newOutTree(outDir, false, want)
	case err != nil:
		return nil, fmt.Errorf("techdocs: output directory: %w", err)
	case len(entries) == 0:
		return newOutTree(outDir, false, want)
	}
	if _, err := os.Stat(filepath.Join(outDir, MetadataFile)); err != nil && !b.opts.Overwrite {
		return nil, fmt.Errorf("techdocs: output directory %s is not empty and holds no previous build; refusing to replace it", outDir)
	}
	return newOutTree(outDir, true, want)
}

// outFiles are the files a build writes, relative to the output directory.
func (b *builder) outFiles() []string {
	want := make([]string, 0, len(b.files.list)+4)
	for _, p := range b.all {
		want = append(want, p.File.Dest)
	}
	for _, f := range b.files.list {
		if !f.Doc {
			want = append(want, f.Dest)
		}
	}
	want = append(want, "assets/greenroom-docs.css", SiteFile, MetadataFile)
	if b.searchOn() {
		want = append(want, "search/search_index.json")
	}
	return want
}

func (b *builder) searchOn() bool { return b.cfg.plugin("search") || b.cfg.plugin("techdocs-core") }

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if r, err := filepath.EvalSymlinks(a); err == nil {
		return r
	}
	return a
}

func (b *builder) write(outDir string, res *Result) error {
	out, err := b.prepareOut(outDir, b.outFiles())
	if err != nil {
		return err
	}
	var mu sync.Mutex
	add := func(rel string) {
		mu.Lock()
		res.Files = append(res.Files, rel)
		mu.Unlock()
	}
	put := func(rel string, data []byte) error {
		if err := out.put(rel, data); err != nil {
			return err
		}
		add(rel)
		return nil
	}
	g, ctx := errgroup.WithContext(b.ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, p := range b.all {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			buf := pageBufs.Get().(*bytes.Buffer)
			defer pageBufs.Put(buf)
			buf.Reset()
			if err := b.renderHTMLTo(buf, p); err != nil {
				return fmt.Errorf("techdocs: render %s: %w", p.File.Src, err)
			}
			return put(p.File.Dest, buf.Bytes())
		})
	}
	for _, f := range b.files.list {
		if f.Doc {
			continue
		}
		g.Go(func() error {
			if err := out.copy(f.Dest, f.abs, b.opts.Limits.MaxFileBytes); err != nil {
				return fmt.Errorf("techdocs: copy %s: %w", f.Src, err)
			}
			add(f.Dest)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := put("assets/greenroom-docs.css", themeCSS()); err != nil {
		return err
	}
	if b.searchOn() {
		data, err := jsonBytes(b.searchIndex())
		if err != nil {
			return err
		}
		if err := put("search/search_index.json", data); err != nil {
			return err
		}
	}
	// The files in the order of their paths, not of their writing: an
	// unchanged site gives the same greenroom_site.json.
	slices.Sort(res.Files)
	site, err := jsonBytes(res)
	if err != nil {
		return err
	}
	if err := put(SiteFile, site); err != nil {
		return err
	}
	res.Files = append(res.Files, MetadataFile)
	slices.Sort(res.Files)
	meta := Metadata{SiteName: res.SiteName, SiteDescription: res.SiteDescription,
		BuildTimestamp: b.opts.Now().UnixMilli(), Files: res.Files, Etag: b.opts.Etag}
	data, err := jsonBytes(meta)
	if err != nil {
		return err
	}
	return out.put(MetadataFile, data)
}

// Metadata is techdocs_metadata.json as mkdocs-techdocs-core and
// techdocs-cli write it.
type Metadata struct {
	SiteName        string   `json:"site_name"`
	SiteDescription string   `json:"site_description"`
	Etag            string   `json:"etag,omitempty"`
	BuildTimestamp  int64    `json:"build_timestamp"`
	Files           []string `json:"files,omitempty"`
}

// contentStart and contentEnd delimit a page's content in its HTML, so
// the portal's reader can take it out of a built (or published) page.
const (
	contentStart = "<!-- greenroom:content -->"
	contentEnd   = "<!-- /greenroom:content -->"
)
