package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed templates
var templateFS embed.FS

// page is what the layout needs, around one page's own view model.
type page struct {
	Title   string // the <title> and, usually, the h1
	App     string // the portal's name (app.title)
	Nav     string // the active main navigation item
	CSRF    string
	Notices []string // problems with the request that the page worked around
	Viewer  viewer
	Data    any
	Live    *liveView // set for pages that update live
	assets  *assets
}

// Asset returns the content-hash URL of a static file.
func (p *page) Asset(name string) string { return p.assets.URL(name) }

// templates holds one parsed set per page (layout + partials + the page),
// and the partials alone for sections.
type templates struct {
	pages map[string]*template.Template
	parts *template.Template
}

var templateFuncs = template.FuncMap{
	"humanRef":   humanRef,
	"refPath":    refPath,
	"clip":       clip,
	"count":      formatCount,
	"plural":     plural,
	"add":        func(a, b int) int { return a + b },
	"ago":        ago,
	"split":      splitAt,
	"rest":       restAfter,
	"table":      newTable,
	"newTableOf": newTableOf,
	"starArgs":   newStarArgs,
	"lcClass":    lifecycleClass,
	"sub":        func(a, b int) int { return a - b },
	"columnsOf":  columnsFor,
	"lower":      strings.ToLower,
}

// tableView is what the entity table partial renders.
type tableView struct {
	Caption string
	Rows    []entityRow
	Cols    columns
	CSRF    string // set to offer star buttons
	Return  string // where star buttons come back to
}

func newTable(caption string, rows []entityRow, cols columns, csrf, ret string) tableView {
	return tableView{Caption: caption, Rows: rows, Cols: cols, CSRF: csrf, Return: ret}
}

// newTableOf is the table of a related group: columns for people when
// every row is a user, else the mixed-kind ones.
func newTableOf(caption string, rows any) tableView {
	rs, _ := rows.([]entityRow)
	users := len(rs) > 0
	cols := columns{Kind: true}
	for _, r := range rs {
		users = users && strings.EqualFold(r.Kind, "user")
		cols.Owner = cols.Owner || r.Owner != ""
		cols.Type = cols.Type || r.Type != ""
		cols.Lifecycle = cols.Lifecycle || r.Lifecycle != ""
	}
	if users {
		cols = columns{Email: true}
	}
	return tableView{Caption: caption, Rows: rs, Cols: cols}
}

// starArgs is what a star button needs.
type starArgs struct {
	Path, Display, CSRF, Return string
	Starred                     bool
}

func newStarArgs(r entityRow, csrf, ret string) starArgs {
	return starArgs{Path: r.Path, Display: r.Display, CSRF: csrf, Return: ret, Starred: r.Starred}
}

// lifecycleClass styles the well-known lifecycles; the badge always
// carries the lifecycle's text as well.
func lifecycleClass(lc string) string {
	switch strings.ToLower(lc) {
	case "production", "experimental", "deprecated":
		return "lc-" + strings.ToLower(lc)
	}
	return ""
}

// parseTemplates parses every template at start, so that a broken one
// stops the binary from starting rather than failing a request.
func parseTemplates() (*templates, error) {
	parts, err := template.New("parts").Funcs(templateFuncs).ParseFS(templateFS, "templates/parts/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: list templates: %w", err)
	}
	t := &templates{pages: map[string]*template.Template{}, parts: parts}
	for _, name := range names {
		clone, err := parts.Clone()
		if err != nil {
			return nil, fmt.Errorf("web: clone templates: %w", err)
		}
		pt, err := clone.ParseFS(templateFS, name)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		t.pages[strings.TrimSuffix(path.Base(name), ".html")] = pt
	}
	return t, nil
}

// render executes a page into a buffer first, so that a template error
// never sends half a page, then sends it with an ETag; a matching
// If-None-Match gets 304. Pages are never cached without revalidation
// (they depend on the catalog and on cookies).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) error {
	t, ok := h.tmpl.pages[name]
	if !ok {
		return fmt.Errorf("web: no template %s", name)
	}
	p.App, p.assets = h.title, h.assets
	p.CSRF = csrfToken(w, r)
	p.Viewer = h.viewer(r)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	etag := `W/"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	hd := w.Header()
	setSecurityHeaders(w, r)
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache, private")
	hd.Set("Vary", "Cookie")
	hd.Set("ETag", etag)
	if status == http.StatusOK && r.Method == http.MethodGet && etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

func etagMatch(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}

// renderPart executes a partial template (for sections) into HTML.
func (h *Handler) renderPart(name string, data any) (template.HTML, error) {
	var buf bytes.Buffer
	if err := h.tmpl.parts.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("web: render %s: %w", name, err)
	}
	return template.HTML(buf.String()), nil // produced by html/template: escaped
}

// formatCount writes n with thousands separators: 12,345.
func formatCount(n int) string {
	s := strconv.Itoa(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// plural returns "1 entity" or "3 entities".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return formatCount(n) + " " + many
}

// ago describes how long ago t was, coarsely.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute", "minutes") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour", "hours") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day", "days") + " ago"
}

// splitAt and restAfter cut a list for "show all" disclosures: the first n
// items are shown, the rest go into a <details>.
func splitAt(n int, list any) any   { return cut(list, n, true) }
func restAfter(n int, list any) any { return cut(list, n, false) }

func cut(list any, n int, head bool) any {
	switch l := list.(type) {
	case []string:
		if len(l) <= n {
			if head {
				return l
			}
			return []string(nil)
		}
		if head {
			return l[:n]
		}
		return l[n:]
	case []entityRow:
		if len(l) <= n {
			if head {
				return l
			}
			return []entityRow(nil)
		}
		if head {
			return l[:n]
		}
		return l[n:]
	case []facetOption:
		if len(l) <= n {
			if head {
				return l
			}
			return []facetOption(nil)
		}
		if head {
			return l[:n]
		}
		return l[n:]
	}
	panic(fmt.Sprintf("web: split of %T", list))
}
