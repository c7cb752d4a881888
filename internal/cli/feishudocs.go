package cli

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"greenroom/internal/feishu"
	"greenroom/internal/techdocs"
)

// techdocsValidator validates migrated docs with the TechDocs builder
// itself: the pages are those it builds, the problems its warnings (links
// to missing pages or anchors, with file and line), exactly what the
// portal's reader will show once the docs are published. The Feishu
// package's own check runs too, for what MkDocs' rules let pass: links
// and images without a file extension (Feishu media tokens left by
// images: link) that resolve to nothing.
type techdocsValidator struct{}

var _ feishu.DocsBuilder = techdocsValidator{}

// Build implements feishu.DocsBuilder: paths are relative to docs_dir.
func (techdocsValidator) Build(ctx context.Context, dir string) ([]feishu.BuiltPage, []feishu.BuildWarning, error) {
	cfg, err := techdocs.LoadConfig(dir, "", nil)
	if err != nil {
		return nil, nil, err
	}
	out, err := os.MkdirTemp("", "greenroom-feishu-validate-")
	if err != nil {
		return nil, nil, fmt.Errorf("validate: %w", err)
	}
	defer os.RemoveAll(out)
	res, err := techdocs.Build(ctx, dir, out, techdocs.Options{})
	if err != nil {
		return nil, nil, err
	}
	docsDir := path.Clean(filepath.ToSlash(cfg.DocsDir)) + "/"
	pages := make([]feishu.BuiltPage, 0, len(res.Pages))
	for _, p := range res.Pages {
		bp := feishu.BuiltPage{Path: p.Src}
		var walk func([]*techdocs.TOCItem)
		walk = func(items []*techdocs.TOCItem) {
			for _, it := range items {
				bp.Anchors = append(bp.Anchors, it.ID)
				walk(it.Children)
			}
		}
		walk(p.TOC)
		pages = append(pages, bp)
	}
	warnings := make([]feishu.BuildWarning, 0, len(res.Warnings))
	for _, w := range res.Warnings {
		warnings = append(warnings, feishu.BuildWarning{File: strings.TrimPrefix(filepath.ToSlash(w.File), docsDir), Line: w.Line, Message: w.Message})
	}
	seen := map[string]bool{}
	for _, w := range warnings {
		seen[fmt.Sprint(w.File, ":", w.Line)] = true
	}
	_, own, err := feishu.DefaultBuilder{}.Build(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range own {
		if !seen[fmt.Sprint(w.File, ":", w.Line)] {
			warnings = append(warnings, w)
		}
	}
	return pages, warnings, nil
}
