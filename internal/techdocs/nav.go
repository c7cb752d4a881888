package techdocs

import (
	"net/url"
	"path"
	"strings"
)

// NavItem is one entry of a site's navigation.
type NavItem struct {
	Title string `json:"title"`
	// URL is the page's URL relative to the site root ("" for the home
	// page), or the link's URL as written; empty for a section.
	URL      string     `json:"url,omitempty"`
	Kind     string     `json:"kind"` // "page", "section" or "link"
	Src      string     `json:"src,omitempty"`
	Children []*NavItem `json:"children,omitempty"`
	page     *Page
}

// navFromConfig builds the nav from mkdocs.yml's nav entries.
func (b *builder) navFromConfig(entries []NavEntry) []*NavItem {
	var out []*NavItem
	for _, e := range entries {
		switch {
		case e.Section:
			out = append(out, &NavItem{Title: e.Title, Kind: "section", Children: b.navFromConfig(e.Children)})
		default:
			p := path.Clean(strings.ReplaceAll(e.Path, "\\", "/"))
			if pg := b.pages[p]; pg != nil && !isURL(e.Path) {
				if e.Title != "" {
					pg.navTitle = e.Title
				}
				out = append(out, &NavItem{Title: e.Title, Kind: "page", Src: p, page: pg})
				continue
			}
			if !isURL(e.Path) && !strings.HasPrefix(e.Path, "/") {
				b.warn(Warning{File: b.cfg.File, Line: e.Pos.Line,
					Message: "nav refers to " + e.Path + ", which is not found in the documentation files"})
			}
			out = append(out, &NavItem{Title: e.Title, Kind: "link", URL: e.Path})
		}
	}
	return out
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme != "" || u.Host != "")
}

// navFromFiles is MkDocs' nav when mkdocs.yml has none: the pages in file
// order, nested into sections named after their directories.
func (b *builder) navFromFiles() []*NavItem {
	var root []*NavItem
	for _, f := range b.files.docs() {
		pg := b.pages[f.Src]
		if pg == nil {
			continue
		}
		branch := &root
		dir := path.Dir(f.Src)
		if dir != "." {
			for _, part := range strings.Split(dir, "/") {
				title := dirnameToTitle(part)
				var found *NavItem
				for _, it := range *branch {
					if it.Kind == "section" && it.Title == title {
						found = it
						break
					}
				}
				if found == nil {
					found = &NavItem{Title: title, Kind: "section"}
					*branch = append(*branch, found)
				}
				branch = &found.Children
			}
		}
		*branch = append(*branch, &NavItem{Kind: "page", Src: f.Src, page: pg})
	}
	return root
}

// dirnameToTitle is MkDocs' dirname_to_title.
func dirnameToTitle(d string) string {
	t := strings.NewReplacer("-", " ", "_", " ").Replace(d)
	if strings.ToLower(t) == t {
		t = capitalize(t)
	}
	return t
}

// capitalize is Python's str.capitalize: first character upper, the rest
// lower.
func capitalize(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + strings.ToLower(s[i+len(string(r)):])
	}
	return s
}

// finishNav fills page titles and URLs into nav items, links the pages'
// previous/next in nav order and records each page's parents.
func (b *builder) finishNav(items []*NavItem, parents []*NavItem, order *[]*Page) {
	for _, it := range items {
		switch it.Kind {
		case "page":
			it.Title = it.page.Title
			it.URL = pageURL(it.page.File)
			it.page.Parents = append([]*NavItem(nil), parents...)
			*order = append(*order, it.page)
		case "section":
			b.finishNav(it.Children, append(parents, it), order)
		}
	}
}

// pageURL is MkDocs' Page.url: the file's URL, "" for the site root.
func pageURL(f *File) string {
	if f.URL == "./" || f.URL == "." {
		return ""
	}
	return f.URL
}
