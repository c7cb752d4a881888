package examples_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
)

// checkFiles: every entity file is named by exactly one Location (the root
// by none), every $text target exists and is not empty, and every YAML file
// in the FS is either an entity file or a $text target, never both.
func checkFiles(c *catalog) []error {
	var errs []error
	for _, p := range sortedKeys(c.targeted) {
		if n := c.targeted[p]; n != 1 {
			errs = append(errs, fmt.Errorf("%s is targeted %d times, want once", p, n))
		}
	}
	for _, p := range sortedKeys(c.texts) {
		data, err := fs.ReadFile(c.fsys, p)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("$text target of %v: %w", c.texts[p][0], err))
		case len(bytes.TrimSpace(data)) == 0:
			errs = append(errs, fmt.Errorf("$text target %s is empty", p))
		}
		if _, ok := c.targeted[p]; ok {
			errs = append(errs, fmt.Errorf("%s is both a Location target and a $text target", p))
		}
	}
	err := fs.WalkDir(c.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		_, isEntityFile := c.targeted[p]
		_, isText := c.texts[p]
		if !isEntityFile && !isText {
			errs = append(errs, fmt.Errorf("%s is not reached from the root Location", p))
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}
