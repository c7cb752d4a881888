package web

import (
	"context"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
	"greenroom/internal/techdocs"
)

func init() { registerNav(navItem{ID: "docs", Label: "Docs", Path: "/docs", Order: 50}) }

// DocsService is what the docs pages need from the TechDocs service.
type DocsService interface {
	Publisher() techdocs.Publisher
	Record(ctx context.Context, n techdocs.EntityName) (techdocs.BuildRecord, error)
	Records(ctx context.Context) ([]techdocs.BuildRecord, error)
	Builder() string
}

// DocsPages serves /docs: the index of documented entities and the
// reader of their sites, and the Docs section of entity pages.
type DocsPages struct {
	h   *Handler
	svc DocsService
}

// DocsPages returns the docs pages on h.
func (h *Handler) DocsPages(svc DocsService) *DocsPages { return &DocsPages{h: h, svc: svc} }

// Routes registers the docs pages.
func (d *DocsPages) Routes(mux *http.ServeMux) {
	mux.Handle("GET /docs", d.h.handle(d.index))
	mux.Handle("GET /docs/{namespace}/{kind}/{name}", d.h.handle(d.redirectSlash))
	mux.Handle("GET /docs/{namespace}/{kind}/{name}/{file...}", d.h.handle(d.reader))
}

// maxDocsEntities bounds the index.
const maxDocsEntities = 5000

type docsRow struct {
	Display, Kind, Owner, Path, DocsPath, Status, Description string
	Built                                                     time.Time
}

type docsIndexView struct {
	Rows                      []docsRow
	Text, Kind, Owner, Status string
	Kinds, Owners, Statuses   []string
	Total                     int
	External                  bool
}

func (d *DocsPages) index(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f := query.Exists("metadata.annotations." + techdocs.AnnotationRef)
	found, err := d.h.catalog.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleList, Filter: &f, Limit: maxDocsEntities}, nil)
	if err != nil {
		return err
	}
	recs, err := d.svc.Records(ctx)
	if err != nil {
		return err
	}
	byRef := map[string]techdocs.BuildRecord{}
	for _, rec := range recs {
		byRef[rec.Entity] = rec
	}
	q := r.URL.Query()
	v := docsIndexView{Text: strings.TrimSpace(q.Get("text")), Kind: q.Get("kind"), Owner: q.Get("owner"), Status: q.Get("status"),
		External: d.svc.Builder() == techdocs.BuilderExternal}
	kinds, owners := map[string]bool{}, map[string]bool{}
	for _, raw := range found.Items {
		e, err := parseEntity(raw)
		if err != nil {
			continue
		}
		ed, err := techdocs.EntityDocsFromJSON(raw)
		if err != nil {
			continue
		}
		rec, ok := byRef[ed.Name.String()]
		status := "not built"
		if ok {
			status = rec.Status
		}
		row := docsRow{Display: e.DisplayName(), Kind: e.Kind, Owner: e.SpecString("owner"), Path: e.Path(),
			DocsPath: docsPath(ed.Name, ""), Status: status, Built: rec.LastSuccessAt, Description: clip(e.Metadata.Description, 160)}
		kinds[row.Kind], owners[row.Owner] = true, true
		if v.Kind != "" && !strings.EqualFold(v.Kind, row.Kind) || v.Owner != "" && v.Owner != row.Owner || v.Status != "" && v.Status != row.Status {
			continue
		}
		if v.Text != "" && !strings.Contains(strings.ToLower(row.Display+" "+e.Metadata.Name), strings.ToLower(v.Text)) {
			continue
		}
		v.Rows = append(v.Rows, row)
	}
	v.Total = len(v.Rows)
	v.Kinds, v.Owners = sortedKeys(kinds), sortedKeys(owners)
	v.Statuses = []string{techdocs.StatusSuccess, techdocs.StatusFailed, techdocs.StatusBuilding, "not built"}
	return d.h.render(w, r, http.StatusOK, "docs_index", &page{Title: "Documentation", Nav: "docs", Data: v})
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func docsPath(n techdocs.EntityName, file string) string {
	return "/docs/" + url.PathEscape(strings.ToLower(n.Namespace)) + "/" + url.PathEscape(strings.ToLower(n.Kind)) + "/" +
		url.PathEscape(n.Name) + "/" + file
}

func (d *DocsPages) redirectSlash(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, r.URL.EscapedPath()+"/", http.StatusMovedPermanently)
	return nil
}

type docsNav struct {
	Title, Href string
	Section     bool
	Current     bool
	Children    []docsNav
}

type docsReaderView struct {
	Entity, EntityPath, SiteName, Base, EditURL string
	Nav                                         []docsNav
	TOC                                         []*techdocs.TOCItem
	Content                                     template.HTML
	Prev, Next                                  *docsNav
	Record                                      *techdocs.BuildRecord
	HasSite, Failed, External, NeedsH1          bool
	PageTitle                                   string
}

func (d *DocsPages) reader(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ref := greenroom.EntityRef{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	raw, err := d.h.catalog.EntityByName(ctx, ref)
	if err != nil {
		return err
	}
	e, err := parseEntity(raw)
	if err != nil {
		return err
	}
	n := techdocs.EntityName{Namespace: ref.Namespace, Kind: ref.Kind, Name: ref.Name}
	file := r.PathValue("file")
	v := docsReaderView{Entity: e.DisplayName(), EntityPath: e.Path(), Base: docsPath(n, ""), External: d.svc.Builder() == techdocs.BuilderExternal}
	if rec, err := d.svc.Record(ctx, n); err == nil {
		v.Record = &rec
		v.Failed = rec.Status == techdocs.StatusFailed
	} else if greenroom.ErrorCode(err) != greenroom.CodeNotFound {
		return err
	}
	pub := d.svc.Publisher()
	site, err := techdocs.ReadSite(ctx, pub, n)
	if err != nil && greenroom.ErrorCode(err) != greenroom.CodeNotFound {
		return err
	}
	var pg *techdocs.PageInfo
	dest := file
	if site != nil {
		v.SiteName = site.SiteName
		for i := range site.Pages {
			p := &site.Pages[i]
			// Page URLs are percent-encoded as MkDocs writes them; the
			// path value is decoded.
			u, err := url.PathUnescape(p.URL)
			if err != nil {
				u = p.URL
			}
			if u == file || file == "" && p.URL == "index.html" {
				pg = p
				break
			}
		}
		if pg != nil {
			dest = pg.Dest
		}
	}
	if pg == nil && path.Ext(file) != "" && path.Ext(file) != ".html" {
		return d.asset(w, r, n, file)
	}
	if dest == "" || strings.HasSuffix(dest, "/") {
		dest += "index.html"
	}
	rc, _, err := pub.Open(ctx, n, dest)
	switch {
	case greenroom.ErrorCode(err) == greenroom.CodeNotFound && (file == "" || pg == nil && site == nil):
		// No site yet: the page says why (never built, failing, external).
		return d.h.render(w, r, http.StatusNotFound, "docs_reader", &page{Title: e.DisplayName() + " docs", Nav: "docs", Data: v})
	case err != nil:
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 32<<20))
	if err != nil {
		return err
	}
	content, ours := techdocs.PageContent(data)
	if !ours {
		content = techdocs.Sanitize(content)
	}
	v.HasSite, v.Content = true, template.HTML(content) // sanitized at build, or just above
	// The portal's pages have one h1 first; a page whose Markdown has none
	// gets its title as one.
	v.NeedsH1 = !strings.Contains(string(content), "<h1")
	v.PageTitle = v.SiteName
	if pg != nil {
		v.PageTitle, v.TOC, v.EditURL = pg.Title, pg.TOC, safeURL(pg.EditURL)
		if pg.Prev != "" || pg.URL != "" && pg.Prev == "" && prevIsHome(site, pg) {
			v.Prev = &docsNav{Title: titleOf(site, pg.Prev), Href: v.Base + pg.Prev}
		}
		if pg.Next != "" {
			v.Next = &docsNav{Title: titleOf(site, pg.Next), Href: v.Base + pg.Next}
		}
		v.Nav = navOf(site.Nav, v.Base, pg.URL)
	}
	title := v.PageTitle
	if title == "" {
		title = e.DisplayName()
	}
	return d.h.render(w, r, http.StatusOK, "docs_reader", &page{Title: title + " · " + e.DisplayName() + " docs", Nav: "docs", Data: v})
}

// prevIsHome reports whether pg's previous page is the home page (whose
// URL is "", like "no previous page").
func prevIsHome(site *techdocs.Result, pg *techdocs.PageInfo) bool {
	var order []string
	var walk func([]*techdocs.NavItem)
	walk = func(items []*techdocs.NavItem) {
		for _, it := range items {
			if it.Kind == "page" {
				order = append(order, it.URL)
			}
			walk(it.Children)
		}
	}
	walk(site.Nav)
	i := slices.Index(order, pg.URL)
	return i > 0 && order[i-1] == ""
}

func titleOf(site *techdocs.Result, u string) string {
	for _, p := range site.Pages {
		if p.URL == u {
			return p.Title
		}
	}
	return u
}

func navOf(items []*techdocs.NavItem, base, current string) []docsNav {
	var out []docsNav
	for _, it := range items {
		n := docsNav{Title: it.Title}
		switch it.Kind {
		case "section":
			n.Section = true
			n.Children = navOf(it.Children, base, current)
		case "page":
			n.Href, n.Current = base+it.URL, it.URL == current
		case "link":
			n.Href = safeURL(it.URL)
		}
		out = append(out, n)
	}
	return out
}

// asset streams a non-HTML file of the site (images, downloads).
func (d *DocsPages) asset(w http.ResponseWriter, r *http.Request, n techdocs.EntityName, file string) error {
	rc, info, err := d.svc.Publisher().Open(r.Context(), n, file)
	if err != nil {
		return err
	}
	defer rc.Close()
	ct := mime.TypeByExtension(path.Ext(file))
	if ct == "" || strings.HasPrefix(ct, "text/html") {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'")
	if !info.ModTime.IsZero() {
		w.Header().Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	}
	_, _ = io.Copy(w, rc)
	return nil
}

// Section returns the entity page's Docs tab, which replaces the
// placeholder of the same ID.
func (d *DocsPages) Section() Section { return docsSection{d} }

type docsSection struct{ d *DocsPages }

func (docsSection) ID() string    { return "docs" }
func (docsSection) Title() string { return "Docs" }
func (docsSection) Applies(e *Entity) bool {
	return e.IsKind("component", "api", "system", "domain", "resource")
}

type docsSectionView struct {
	Ref, DocsPath, Annotation, Error, Status string
	Built                                    time.Time
	HasRef, External                         bool
	Warnings                                 int
}

func (s docsSection) Render(ctx context.Context, e *Entity) (template.HTML, error) {
	v := docsSectionView{Ref: e.Annotation(techdocs.AnnotationRef), Annotation: techdocs.AnnotationRef, External: s.d.svc.Builder() == techdocs.BuilderExternal}
	v.HasRef = v.Ref != ""
	n := techdocs.EntityName{Namespace: e.Ref().Namespace, Kind: e.Kind, Name: e.Metadata.Name}
	if n.Namespace == "" {
		n.Namespace = greenroom.DefaultNamespace
	}
	v.DocsPath = docsPath(n, "")
	if rec, err := s.d.svc.Record(ctx, n); err == nil {
		v.Status, v.Built, v.Error, v.Warnings = rec.Status, rec.LastSuccessAt, rec.Error, len(rec.Warnings)
	} else if greenroom.ErrorCode(err) != greenroom.CodeNotFound {
		return "", err
	}
	return s.d.h.renderPart("docs_section", v)
}
