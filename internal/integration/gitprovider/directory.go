package gitprovider

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/integration/gitsource"
)

// dirScan is the scan of one directory provider.
type dirScan struct {
	name    string
	root    string
	pattern string
	cat     Catalog
	// applied is the fingerprint of the files last applied in this
	// process ("" before the first apply); guarded by Provider.run.
	applied string
}

func (ps *Providers) newDirectory(d config.DirectoryProvider) (*Provider, error) {
	path := "catalog.providers.directory." + d.ID
	root := d.Path
	if root == "" {
		root = d.Target
	}
	if root == "" {
		return nil, located(d.File, d.Line, path+".path", "a directory is required")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, located(d.File, d.Line, path+".path", "%v", err)
	}
	catalogPath := d.CatalogPath
	if catalogPath == "" {
		catalogPath = config.DefaultCatalogPath
	}
	if _, err := gitsource.ParsePattern(catalogPath); err != nil {
		return nil, located(d.File, d.Line, path+".catalogPath", "%v", err)
	}
	sched := d.Schedule
	if sched.Frequency == 0 {
		sched.Frequency = config.DefaultDirectoryProviderFreq
	}
	p := ps.newProvider("directory-"+d.ID, sched)
	s := &dirScan{name: p.name, root: abs, pattern: catalogPath, cat: ps.opts.Catalog}
	p.scan = s.scan
	p.state.s = State{Name: p.name, Kind: KindDirectory, Target: abs}
	return p, nil
}

// scan lists the matching files and, when their names, sizes or
// modification times differ from the last apply (or force is set), applies
// them. The files are read through an os.Root, so nothing outside the
// directory is read, Location targets included.
func (s *dirScan) scan(ctx context.Context, force bool) (outcome, error) {
	src, err := gitsource.NewDirSource(s.root, s.pattern)
	if err != nil {
		return outcome{}, fmt.Errorf("gitprovider: %s: %w", s.name, err)
	}
	files, err := src.Files(ctx)
	if err != nil {
		return outcome{}, fmt.Errorf("gitprovider: %s: %w", s.name, err)
	}
	root, err := os.OpenRoot(s.root)
	if err != nil {
		return outcome{}, fmt.Errorf("gitprovider: %s: %w", s.name, err)
	}
	defer root.Close()
	fp, err := fingerprint(root, files)
	if err != nil {
		return outcome{}, fmt.Errorf("gitprovider: %s: %w", s.name, err)
	}
	if fp == s.applied && !force {
		return outcome{skipped: true, files: len(files)}, nil
	}
	fsys := root.FS()
	sources := make([]catalog.Source, len(files))
	for i, f := range files {
		sources[i] = catalog.Source{Name: catalog.ProviderSourceName(s.name, f), FS: fsys, Root: f}
	}
	res, err := s.cat.ApplyProvider(ctx, s.name, sources)
	if err != nil {
		return outcome{}, fmt.Errorf("gitprovider: %s: %w", s.name, err)
	}
	s.applied = fp
	return outcome{files: len(files), res: res}, nil
}

// fingerprint hashes the names, sizes and modification times of files. A
// file that vanished since the listing counts as changed (it hashes as
// missing), so the apply that follows sees the tree as it is.
func fingerprint(root *os.Root, files []string) (string, error) {
	h := sha256.New()
	var buf [16]byte
	for _, f := range files {
		h.Write([]byte(f))
		h.Write([]byte{0})
		info, err := root.Lstat(f)
		switch {
		case os.IsNotExist(err):
			h.Write([]byte("missing"))
			continue
		case err != nil:
			return "", fmt.Errorf("stat %s: %w", f, err)
		}
		binary.BigEndian.PutUint64(buf[:8], uint64(info.Size()))
		binary.BigEndian.PutUint64(buf[8:], uint64(info.ModTime().UnixNano()))
		h.Write(buf[:])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
