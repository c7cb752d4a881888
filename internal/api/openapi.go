package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
)

// openAPISpec is the OpenAPI 3.1 document of /api/catalog, with paths
// relative to it as in Backstage's catalog-backend spec. A test checks
// that every route registered under /api/catalog is documented.
//
//go:embed openapi.yaml
var openAPISpec []byte

// catalogPrefix is where the catalog API is mounted; the served document
// carries it in every path, as Backstage's OpenAPI router prepends the
// plugin's mount path.
const catalogPrefix = "/api/catalog"

// servedSpec is the document as served, in both encodings, built once.
var servedSpec = sync.OnceValues(func() (spec servedDocs, err error) {
	var doc map[string]any
	if err := yaml.Unmarshal(openAPISpec, &doc); err != nil {
		return spec, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		return spec, fmt.Errorf("api: openapi.yaml has no paths")
	}
	full := make(map[string]any, len(paths))
	for p, item := range paths {
		full[catalogPrefix+p] = item
	}
	doc["paths"] = full
	if spec.json, err = json.MarshalIndent(doc, "", "  "); err != nil {
		return spec, fmt.Errorf("api: openapi.json: %w", err)
	}
	// The YAML keeps the file's order and comments-free layout: only the
	// path keys change, so it is rewritten line by line.
	var b strings.Builder
	inPaths := false
	for _, line := range strings.SplitAfter(string(openAPISpec), "\n") {
		switch {
		case line == "paths:\n":
			inPaths = true
		case inPaths && strings.HasPrefix(line, "  /"):
			line = "  " + catalogPrefix + line[2:]
		case inPaths && line != "\n" && !strings.HasPrefix(line, " "):
			inPaths = false
		}
		b.WriteString(line)
	}
	spec.yaml = []byte(b.String())
	return spec, nil
})

type servedDocs struct{ json, yaml []byte }

// openAPIRoutes serves the document at GET /api/catalog/openapi.json
// (where Backstage serves its spec) and /api/catalog/openapi.yaml.
func (h *Handler) openAPIRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/catalog/openapi.json", h.handle(func(w http.ResponseWriter, r *http.Request) error {
		return serveSpec(w, "application/json", func(s servedDocs) []byte { return s.json })
	}))
	mux.Handle("GET /api/catalog/openapi.yaml", h.handle(func(w http.ResponseWriter, r *http.Request) error {
		return serveSpec(w, "application/yaml", func(s servedDocs) []byte { return s.yaml })
	}))
}

func serveSpec(w http.ResponseWriter, contentType string, pick func(servedDocs) []byte) error {
	spec, err := servedSpec()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType+"; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=300")
	// The status is sent; a failed write is a broken connection.
	_, _ = w.Write(pick(spec))
	return nil
}
