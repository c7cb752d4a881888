package feishu

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sort"
	"strings"

	"greenroom/internal/greenroom"
)

// Rollback removes exactly what the migration added: its files while they
// are unchanged (a changed file is kept and reported), the folders it
// created once empty, and its mkdocs.yml nav entries. Nothing else is
// touched. Git output is rolled back in the working tree; the branch the
// migration committed stays for the reviewer to close.
func (s *Service) Rollback(ctx context.Context, id string) (Migration, error) {
	m, err := s.store.FeishuMigration(ctx, id)
	if err != nil {
		return Migration{}, err
	}
	switch m.Status {
	case StatusQueued, StatusRunning:
		return m, greenroom.Errorf(greenroom.CodeConflict, "migration %s is %s; roll it back once it has finished", id, m.Status)
	case StatusRolledBack:
		return m, greenroom.Errorf(greenroom.CodeConflict, "migration %s is already rolled back", id)
	}
	root, err := os.OpenRoot(m.Request.TargetDir)
	if err != nil {
		return m, greenroom.Errorf(greenroom.CodeInvalid, "target directory: %v", err)
	}
	defer root.Close()
	rb := undo(root, &m.Report)
	rb.At = s.now().UTC()
	m.Report.Rollback = &rb
	m.Status = StatusRolledBack
	if err := s.save(ctx, &m); err != nil {
		return m, err
	}
	s.log.Info("feishu migration rolled back", "migration_id", m.ID, "removed", len(rb.Removed), "kept", len(rb.Kept))
	return m, nil
}

// undo reverts report's changes under root.
func undo(root *os.Root, r *Report) Rollback {
	rb := Rollback{Removed: []string{}}
	if r.Nav.Block != "" && !r.Nav.Created {
		src, err := root.ReadFile("mkdocs.yml")
		switch {
		case err != nil:
			rb.Warnings = append(rb.Warnings, "mkdocs.yml: "+err.Error())
		default:
			out, found := removeNav(src, r.Nav)
			if !found {
				rb.Warnings = append(rb.Warnings, "mkdocs.yml: the nav entries added were changed since; remove them by hand")
				rb.Kept = append(rb.Kept, "mkdocs.yml")
			} else if err := root.WriteFile("mkdocs.yml", out, 0o644); err != nil {
				rb.Warnings = append(rb.Warnings, "mkdocs.yml: "+err.Error())
			} else {
				rb.Removed = append(rb.Removed, "mkdocs.yml nav entries")
			}
		}
	}
	for _, f := range r.Files {
		data, err := root.ReadFile(f.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			rb.Warnings = append(rb.Warnings, f.Path+": "+err.Error())
			rb.Kept = append(rb.Kept, f.Path)
		case hash(data) != f.SHA256:
			rb.Kept = append(rb.Kept, f.Path)
		default:
			if err := root.Remove(f.Path); err != nil {
				rb.Warnings = append(rb.Warnings, f.Path+": "+err.Error())
				rb.Kept = append(rb.Kept, f.Path)
				continue
			}
			rb.Removed = append(rb.Removed, f.Path)
		}
	}
	// Deepest folders first; a folder that holds something else stays.
	dirs := append([]string(nil), r.Dirs...)
	sort.Slice(dirs, func(i, j int) bool { return strings.Count(dirs[i], "/") > strings.Count(dirs[j], "/") })
	for _, d := range dirs {
		if err := root.Remove(d); err == nil {
			rb.Removed = append(rb.Removed, d+"/")
		}
	}
	return rb
}
