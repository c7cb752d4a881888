package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded static file served under a content-hash name.
type asset struct {
	name   string // hashed, such as app.3f2a9c0d1e.css
	ctype  string
	body   []byte
	source string // name in static/, such as app.css
}

// assets maps the hashed and the plain names of the static files.
type assets struct {
	byHashed map[string]*asset
	url      map[string]string // source name → /static/<hashed>
}

// loadAssets reads every file of static/ and names it by its content, so
// that a URL never changes meaning and browsers may cache it for a year.
func loadAssets() (*assets, error) {
	a := &assets{byHashed: map[string]*asset{}, url: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		src := strings.TrimPrefix(p, "static/")
		n := newAsset(src, body)
		a.byHashed[n.name] = n
		a.url[src] = "/static/" + n.name
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: load assets: %w", err)
	}
	for _, need := range []string{"app.css", "app.js", "icon.svg"} {
		if a.url[need] == "" {
			return nil, fmt.Errorf("web: asset static/%s is missing", need)
		}
	}
	return a, nil
}

// AddStylesheet appends css to the portal's stylesheet, for packages
// that render into sections with their own classes (the dependency
// graph's and the API viewers' Stylesheet). The stylesheet keeps one URL,
// named by its new content. Call it before serving.
func (h *Handler) AddStylesheet(css string) {
	a := h.assets
	old := a.byHashed[strings.TrimPrefix(a.url["app.css"], "/static/")]
	body := append(append(append([]byte(nil), old.body...), '\n'), css...)
	delete(a.byHashed, old.name)
	n := newAsset("app.css", body)
	a.byHashed[n.name] = n
	a.url["app.css"] = "/static/" + n.name
}

// newAsset names a static file by its content.
func newAsset(src string, body []byte) *asset {
	ext := path.Ext(src)
	sum := sha256.Sum256(body)
	ctype := mime.TypeByExtension(ext)
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return &asset{name: strings.TrimSuffix(src, ext) + "." + hex.EncodeToString(sum[:5]) + ext, ctype: ctype, body: body, source: src}
}

// URL returns the content-hash URL of a static file by its source name.
// An unknown name is a template bug and panics at the first render test.
func (a *assets) URL(src string) string {
	u, ok := a.url[src]
	if !ok {
		panic("web: no asset " + src)
	}
	return u
}

// serveAsset answers GET /static/{file}. Hashed names are immutable; anything
// else is a 404, so a stale page can never mix old HTML with new assets
// silently.
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets.byHashed[r.PathValue("file")]
	if !ok {
		w.Header().Set("Cache-Control", "no-cache")
		http.Error(w, "no such asset", http.StatusNotFound)
		return
	}
	setSecurityHeaders(w, r)
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	w.Write(a.body)
}
