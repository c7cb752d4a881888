package scaffolder

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"greenroom/internal/greenroom"
)

// Resolver finds a template's files from its backstage.io/managed-by-location
// annotation: file: locations on disk, and bundles registered by location
// prefix (the templates shipped in the binary).
type Resolver struct {
	bundles map[string]fs.FS
}

// NewResolver returns a resolver with no bundles.
func NewResolver() *Resolver { return &Resolver{bundles: map[string]fs.FS{}} }

// AddBundle serves locations starting with prefix (e.g.
// "url:https://greenroom.invalid/templates/") from fsys: the rest of the
// location is a path in fsys.
func (r *Resolver) AddBundle(prefix string, fsys fs.FS) { r.bundles[prefix] = fsys }

// TemplateFiles returns the directory holding the entity's template file.
func (r *Resolver) TemplateFiles(_ context.Context, entity map[string]any) (fs.FS, error) {
	md, _ := entity["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	loc, _ := ann["backstage.io/managed-by-location"].(string)
	if loc == "" {
		return nil, greenroom.Errorf(greenroom.CodeNotFound, "template has no backstage.io/managed-by-location annotation")
	}
	for prefix, fsys := range r.bundles {
		if strings.HasPrefix(loc, prefix) {
			dir := path.Dir(strings.TrimPrefix(loc, prefix))
			return fs.Sub(fsys, dir)
		}
	}
	if p, ok := strings.CutPrefix(loc, "file:"); ok {
		return os.DirFS(filepath.Dir(filepath.FromSlash(p))), nil
	}
	return nil, greenroom.Errorf(greenroom.CodeInvalid, "template files at %s cannot be read: only file locations and bundled templates are supported", loc)
}
