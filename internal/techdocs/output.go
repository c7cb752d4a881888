package techdocs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
)

// outTree is the output directory of a build. A rebuild into the
// directory of a previous build leaves the files whose content did not
// change as they are, instead of emptying the directory and writing
// everything again (most of a warm build's system time otherwise): the
// directory ends up holding exactly the files of the new build, as it
// would after emptying it.
type outTree struct {
	dir string
	// old are the regular files found there before the build
	// (slash-separated, relative to dir); a file is replaced only when
	// its content differs.
	old map[string]bool
}

// scanOut lists the regular files and directories under dir. Symlinks
// and other special files are listed as neither, so that prune removes
// them: a build never writes through a link.
func scanOut(dir string) (files, dirs map[string]bool, err error) {
	files, dirs = map[string]bool{}, map[string]bool{}
	root := dir
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		root = r // the output directory may be a link to one: walk what it points to
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			dirs[rel] = true
		case d.Type().IsRegular():
			files[rel] = true
		default:
			files[rel] = false
		}
		return nil
	})
	return files, dirs, err
}

// newOutTree makes dir ready for a build that writes the files want
// (slash-separated paths relative to dir): it removes every file and
// directory there that the build will not write, and creates the
// directories it writes into.
func newOutTree(dir string, scan bool, want []string) (*outTree, error) {
	t := &outTree{dir: dir, old: map[string]bool{}}
	wantFiles := make(map[string]bool, len(want))
	wantDirs := map[string]bool{}
	for _, rel := range want {
		wantFiles[rel] = true
		for d := path.Dir(rel); d != "." && !wantDirs[d]; d = path.Dir(d) {
			wantDirs[d] = true
		}
	}
	oldDirs := map[string]bool{}
	if scan {
		files, dirs, err := scanOut(dir)
		if err != nil {
			return nil, fmt.Errorf("techdocs: output directory: %w", err)
		}
		var stale []string
		for rel, regular := range files {
			if regular && wantFiles[rel] && !wantDirs[rel] {
				t.old[rel] = true
			} else {
				stale = append(stale, rel)
			}
		}
		for rel := range dirs {
			if wantDirs[rel] {
				oldDirs[rel] = true
			} else {
				stale = append(stale, rel)
			}
		}
		// Parents sort before their contents: removing a directory
		// removes what is inside, which is then already gone.
		slices.Sort(stale)
		for _, rel := range stale {
			if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
				return nil, fmt.Errorf("techdocs: clean output directory: %w", err)
			}
		}
	}
	mk := make([]string, 0, len(wantDirs))
	for d := range wantDirs {
		if !oldDirs[d] {
			mk = append(mk, d)
		}
	}
	slices.Sort(mk) // parents first
	for _, d := range mk {
		if err := os.Mkdir(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return t, nil
}

// readBufs holds buffers for comparing a file's old content.
var readBufs = sync.Pool{New: func() any { return new([]byte) }}

// same reports whether the file at p holds exactly data.
func same(p string, data []byte) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() != int64(len(data)) {
		return false
	}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	if cap(*bp) < len(data)+1 {
		*bp = make([]byte, len(data)+1)
	}
	buf := (*bp)[:len(data)+1]
	n, err := io.ReadFull(f, buf)
	return n == len(data) && errors.Is(err, io.ErrUnexpectedEOF) && bytes.Equal(buf[:n], data) ||
		len(data) == 0 && n == 0 && errors.Is(err, io.EOF)
}

// put writes data to rel unless the file there already holds it. A
// changed file is replaced, not rewritten in place, so that a hard link
// to the previous build's file keeps its content.
func (t *outTree) put(rel string, data []byte) error {
	p := filepath.Join(t.dir, filepath.FromSlash(rel))
	if t.old[rel] {
		if same(p, data) {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return os.WriteFile(p, data, 0o644)
}

// copy copies the docs asset src to rel, refusing anything larger than
// limit, unless the file there already has the same content.
func (t *outTree) copy(rel, src string, limit int64) error {
	p := filepath.Join(t.dir, filepath.FromSlash(rel))
	if t.old[rel] {
		if ok, err := sameFile(p, src, limit); err != nil || ok {
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return copyFile(p, src, limit)
}

// sameFile reports whether the files at a and b (no larger than limit)
// have the same content.
func sameFile(a, b string, limit int64) (bool, error) {
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	fa, err := os.Open(a)
	if err != nil {
		return false, nil
	}
	defer fa.Close()
	sa, err := fa.Stat()
	if err != nil {
		return false, nil
	}
	sb, err := fb.Stat()
	if err != nil {
		return false, err
	}
	if !sa.Mode().IsRegular() || sa.Size() != sb.Size() || sb.Size() > limit {
		return false, nil
	}
	const chunk = 64 << 10
	bufA, bufB := make([]byte, chunk), make([]byte, chunk)
	for {
		na, ea := io.ReadFull(fa, bufA)
		nb, eb := io.ReadFull(fb, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false, nil
		}
		if ea != nil || eb != nil {
			// Equal so far: the same when both ended here.
			return ended(ea) && ended(eb), nil
		}
	}
}

func ended(err error) bool { return err == io.EOF || err == io.ErrUnexpectedEOF }
