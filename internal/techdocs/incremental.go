package techdocs

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Site is a project built into a directory and kept in memory, so that a
// change to one page rebuilds only that page (docs serve). Not safe for
// concurrent use.
type Site struct {
	src, out string
	opts     Options
	b        *builder
	res      *Result
	stamps   map[string]stamp // docs file → what it was when built
	config   stamp
	snippets map[string]stamp // snippet files the pages included
}

type stamp struct {
	size int64
	mod  time.Time
}

// NewSite returns a Site for the project in src, built into out.
func NewSite(src, out string, opts Options) *Site {
	return &Site{src: src, out: out, opts: opts}
}

// Build builds the whole site.
func (s *Site) Build(ctx context.Context) (*Result, error) {
	start := time.Now()
	b, err := prepare(ctx, s.src, s.opts)
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
	if err := b.write(s.out, res); err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	s.b, s.res = b, res
	s.stamps = map[string]stamp{}
	for _, f := range b.files.list {
		s.stamps[f.Src] = stamp{f.size, f.mod}
	}
	s.config = s.configStamp()
	s.snippets = nil
	if b.snippets != nil {
		s.snippets = b.snippets.usedFiles()
	}
	return res, nil
}

// snippetsChanged reports whether a snippet file changed since the build:
// the pages that include it are not known one by one, so the whole site
// is rebuilt.
func (s *Site) snippetsChanged() bool {
	for p, was := range s.snippets {
		st, err := os.Stat(p)
		if err != nil || (stamp{st.Size(), st.ModTime()}) != was {
			return true
		}
	}
	return false
}

func (s *Site) configStamp() stamp {
	name := s.opts.ConfigFile
	if name == "" && s.b != nil {
		name = s.b.cfg.File
	}
	st, err := os.Stat(filepath.Join(s.src, name))
	if err != nil {
		return stamp{}
	}
	return stamp{st.Size(), st.ModTime()}
}

// Rebuild brings the site up to date: when only the text of pages changed
// (not their titles, headings or anchors, nor mkdocs.yml or the file set)
// just those pages and the search index are rebuilt; otherwise the whole
// site. It returns the pages rebuilt (nil for a whole build).
func (s *Site) Rebuild(ctx context.Context) (*Result, []string, error) {
	if s.b == nil || s.configStamp() != s.config || s.snippetsChanged() {
		res, err := s.Build(ctx)
		return res, nil, err
	}
	start := time.Now()
	b := s.b
	files, err := walkDocs(b.docsDir, b.cfg.UseDirectoryURLs, b.opts.Limits.withDefaults(), func(Warning) {})
	if err != nil {
		return nil, nil, err
	}
	if len(files.list) != len(b.files.list) {
		res, err := s.Build(ctx)
		return res, nil, err
	}
	var changed []*File
	for i, f := range files.list {
		old := b.files.list[i]
		if f.Src != old.Src {
			res, err := s.Build(ctx)
			return res, nil, err
		}
		if (stamp{f.size, f.mod}) != s.stamps[f.Src] {
			if !f.Doc {
				res, err := s.Build(ctx)
				return res, nil, err
			}
			changed = append(changed, old)
			old.size, old.mod = f.size, f.mod
		}
	}
	if len(changed) == 0 {
		return s.res, []string{}, nil
	}
	var done []string
	for _, f := range changed {
		old := b.pages[f.Src]
		p, err := b.loadPage(f)
		if err != nil || p == nil || old == nil {
			res, err := s.Build(ctx)
			return res, nil, err
		}
		p.navTitle, p.Prev, p.Next, p.Parents = old.navTitle, old.Prev, old.Next, old.Parents
		p.Title = b.pageTitle(p)
		if p.Title != old.Title || !sameTOC(p.TOC, old.TOC) {
			res, err := s.Build(ctx)
			return res, nil, err
		}
		oldIDs := maps.Clone(old.ids)
		b.warns = slices.DeleteFunc(b.warns, func(w Warning) bool { return w.File == b.docPath(f.Src) })
		if err := b.renderPage(p); err != nil {
			return nil, nil, err
		}
		if !maps.Equal(oldIDs, p.ids) {
			res, err := s.Build(ctx)
			return res, nil, err
		}
		// The page replaces the old one everywhere the nav points at it.
		*old = *p
		b.checkAnchorsOf(old)
		data, err := b.renderHTML(old)
		if err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(filepath.Join(s.out, filepath.FromSlash(f.Dest)), data, 0o644); err != nil {
			return nil, nil, fmt.Errorf("techdocs: write %s: %w", f.Dest, err)
		}
		s.stamps[f.Src] = stamp{f.size, f.mod}
		done = append(done, f.Src)
	}
	files0 := s.res.Files
	res := b.result()
	res.Files = files0
	if b.cfg.plugin("search") || b.cfg.plugin("techdocs-core") {
		data, err := jsonBytes(b.searchIndex())
		if err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(filepath.Join(s.out, "search", "search_index.json"), data, 0o644); err != nil {
			return nil, nil, err
		}
	}
	res.Duration = time.Since(start)
	s.res = res
	return res, done, nil
}

func sameTOC(a, b []*TOCItem) bool {
	return slices.EqualFunc(a, b, func(x, y *TOCItem) bool {
		return x.ID == y.ID && x.Title == y.Title && x.Level == y.Level && sameTOC(x.Children, y.Children)
	})
}
