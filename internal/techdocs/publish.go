package techdocs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"greenroom/internal/greenroom"
)

// Publisher stores built sites under Backstage's layout
// (namespace/kind/name/<site files>) and serves their files.
type Publisher interface {
	// Publish uploads the site in dir for the entity; the previous site
	// stays served until the new one is complete.
	Publish(ctx context.Context, n EntityName, dir string) error
	// Open returns one file of the entity's site; a missing file is an
	// error with code not_found.
	Open(ctx context.Context, n EntityName, file string) (io.ReadCloser, FileInfo, error)
}

// FileInfo describes a served file.
type FileInfo struct {
	Size    int64
	ModTime time.Time
}

// cleanFile validates a requested file path inside a site.
func cleanFile(file string) (string, error) {
	file = strings.TrimPrefix(file, "/")
	if file == "" || strings.HasSuffix(file, "/") {
		file += "index.html"
	}
	c := path.Clean(file)
	if c == ".." || strings.HasPrefix(c, "../") || strings.Contains(c, "\x00") || strings.Contains(file, `\`) {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "bad path %q", file)
	}
	return c, nil
}

// ReadMetadata reads the entity's techdocs_metadata.json from p.
func ReadMetadata(ctx context.Context, p Publisher, n EntityName) (*Metadata, error) {
	rc, _, err := p.Open(ctx, n, MetadataFile)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var m Metadata
	if err := json.NewDecoder(io.LimitReader(rc, 8<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("techdocs: %s of %s: %w", MetadataFile, n, err)
	}
	return &m, nil
}

// ReadSite reads the Result the builder stored beside the site; sites
// published by techdocs-cli have none (not_found).
func ReadSite(ctx context.Context, p Publisher, n EntityName) (*Result, error) {
	rc, _, err := p.Open(ctx, n, SiteFile)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var r Result
	if err := json.NewDecoder(io.LimitReader(rc, 64<<20)).Decode(&r); err != nil {
		return nil, fmt.Errorf("techdocs: %s of %s: %w", SiteFile, n, err)
	}
	return &r, nil
}

// LocalPublisher keeps sites in a directory (techdocs.publisher.type
// local, publisher.local.publishDirectory).
type LocalPublisher struct {
	Dir string
}

// Publish implements Publisher: the site is copied beside the current one
// and swapped in with renames.
func (l *LocalPublisher) Publish(ctx context.Context, n EntityName, dir string) error {
	if !n.Valid() {
		return greenroom.Errorf(greenroom.CodeInvalid, "bad entity name %v", n)
	}
	dst := filepath.Join(l.Dir, filepath.FromSlash(n.Path()))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("techdocs: publish: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".publish-"+filepath.Base(dst)+"-")
	if err != nil {
		return fmt.Errorf("techdocs: publish: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(ctx, dir, tmp); err != nil {
		return fmt.Errorf("techdocs: publish %s: %w", n, err)
	}
	old := tmp + ".old"
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("techdocs: publish: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Rename(old, dst)
		return fmt.Errorf("techdocs: publish: %w", err)
	}
	_ = os.RemoveAll(old)
	return nil
}

// Open implements Publisher.
func (l *LocalPublisher) Open(ctx context.Context, n EntityName, file string) (io.ReadCloser, FileInfo, error) {
	f, err := cleanFile(file)
	if err != nil || !n.Valid() {
		return nil, FileInfo{}, greenroom.Errorf(greenroom.CodeNotFound, "no such docs file")
	}
	p := filepath.Join(l.Dir, filepath.FromSlash(n.Path()), filepath.FromSlash(f))
	fh, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, FileInfo{}, greenroom.Errorf(greenroom.CodeNotFound, "no docs file %s for %s", f, n)
	}
	if err != nil {
		return nil, FileInfo{}, fmt.Errorf("techdocs: open %s: %w", f, err)
	}
	st, err := fh.Stat()
	if err != nil || st.IsDir() {
		fh.Close()
		return nil, FileInfo{}, greenroom.Errorf(greenroom.CodeNotFound, "no docs file %s for %s", f, n)
	}
	return fh, FileInfo{Size: st.Size(), ModTime: st.ModTime()}, nil
}

// copyTree copies regular files from src into dst (symlinks are skipped).
func copyTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(target, p, 1<<40)
		}
		return nil
	})
}

// siteFiles lists the regular files under dir, slash-separated.
func siteFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}
