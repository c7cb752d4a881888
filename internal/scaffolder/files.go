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

// BundleAnnotation names, on a template shipped in the binary, its
// directory in the bundle.
const BundleAnnotation = "greenroom.io/bundled-template"

// Resolver finds a template's files: a bundled template's from the bundle
// its greenroom.io/bundled-template annotation names, others from their
// backstage.io/managed-by-location annotation (file: locations on disk,
// and bundles registered by location prefix).
type Resolver struct {
	bundles map[string]fs.FS
	bundled fs.FS
}

// SetBundled serves templates annotated greenroom.io/bundled-template: dir
// from dir in fsys.
func (r *Resolver) SetBundled(fsys fs.FS) { r.bundled = fsys }

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
	if dir, _ := ann[BundleAnnotation].(string); dir != "" && r.bundled != nil {
		clean := path.Clean(dir)
		if !fs.ValidPath(clean) || clean == "." {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "annotation %s: %q is not a bundled template", BundleAnnotation, dir)
		}
		return fs.Sub(r.bundled, clean)
	}
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
