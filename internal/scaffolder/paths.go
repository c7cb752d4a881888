package scaffolder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"greenroom/internal/greenroom"
)

// inWorkspace resolves a relative path inside the workspace ws, refusing
// absolute paths, paths that climb out with "..", and paths that go
// through a symbolic link, so no template can write outside its task.
func inWorkspace(ws, rel string) (string, error) {
	if rel == "" {
		rel = "."
	}
	if strings.ContainsRune(rel, 0) {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "path %q contains a NUL byte", rel)
	}
	slash := filepath.ToSlash(rel)
	if path.IsAbs(slash) || filepath.IsAbs(rel) || filepath.VolumeName(rel) != "" {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "path %q must be relative to the workspace", rel)
	}
	clean := path.Clean(slash)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "path %q leaves the workspace", rel)
	}
	full := filepath.Join(ws, filepath.FromSlash(clean))
	// No component below ws may be a symlink.
	cur := ws
	if clean != "." {
		for _, part := range strings.Split(clean, "/") {
			cur = filepath.Join(cur, part)
			fi, err := os.Lstat(cur)
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil {
				return "", fmt.Errorf("check %s: %w", rel, err)
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				return "", greenroom.Errorf(greenroom.CodeInvalid, "path %q goes through a symbolic link", rel)
			}
		}
	}
	return full, nil
}

// inFS resolves a relative URL such as ./skeleton against a template's
// files, refusing to climb above them.
func inFS(fsys fs.FS, rel string) (fs.FS, string, error) {
	if fsys == nil {
		return nil, "", greenroom.Errorf(greenroom.CodeInvalid, "the template's own files are not available to fetch %q", rel)
	}
	clean := path.Clean(filepath.ToSlash(rel))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, "", greenroom.Errorf(greenroom.CodeInvalid, "url %q leaves the template's directory", rel)
	}
	return fsys, clean, nil
}
