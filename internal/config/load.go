package config

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"greenroom/internal/yamltree"
)

// maxTotalBytes bounds what one Load reads over all files.
const maxTotalBytes = 64 << 20

// LoadOptions says what Load reads.
type LoadOptions struct {
	// Files are the config files, merged in order: later files win.
	// Relative $file and $include paths resolve against each file's
	// directory.
	Files []string
	// LookupEnv resolves ${VAR} and $env. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Environ is the environment scanned for APP_CONFIG_ overrides, in
	// os.Environ's "NAME=value" form. Nil means none.
	Environ []string
}

// Load reads, transforms and merges the files, applies the APP_CONFIG_
// overrides last, and decodes the typed configuration with defaults.
//
// The Config is never nil: it holds what could be read, with defaults
// elsewhere, so that "config check" and "config dump" can show it. The
// Report lists every problem (errors, warnings and infos) in file and line
// order. The error is a *ProblemsError wrapping the error-severity problems
// when there are any, else nil; a Config with errors must not be used to
// start the server.
func Load(opts LoadOptions) (*Config, Report, error) {
	l := &loader{lookupEnv: opts.LookupEnv, budget: yamltree.NewBudget(maxNodes), ps: &problems{}, cache: map[string][]byte{}}
	if l.lookupEnv == nil {
		l.lookupEnv = os.LookupEnv
	}
	var merged *node
	for _, f := range opts.Files {
		merged = merge(merged, l.loadFile(f))
	}
	merged = merge(merged, l.envOverrides(opts.Environ))
	if merged == nil {
		merged = newMap(pos{})
	}

	c := (&decoder{ps: l.ps}).decode(merged)
	c.raw = merged
	c.files = append([]string(nil), opts.Files...)
	newKeyChecker(l.ps).check(merged)
	for _, p := range c.validate() {
		at := c.origin(p.Path)
		if at.file == "" && len(opts.Files) > 0 {
			at.file = opts.Files[len(opts.Files)-1]
		}
		p.File, p.Line, p.Column = at.file, at.line, at.col
		l.ps.list = append(l.ps.list, p)
	}

	report := Report{Problems: sortProblems(l.ps.list, opts.Files)}
	return c, report, report.Err()
}

// sortProblems orders problems by file (config files in load order, then
// other files and variables in order of first appearance), line and column.
func sortProblems(ps []Problem, files []string) []Problem {
	rank := map[string]int{}
	for _, f := range files {
		if _, ok := rank[f]; !ok {
			rank[f] = len(rank)
		}
	}
	for _, p := range ps {
		if _, ok := rank[p.File]; !ok {
			rank[p.File] = len(rank)
		}
	}
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(rank[a.File], rank[b.File]), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return out
}

// loader holds the state of one Load.
type loader struct {
	lookupEnv func(string) (string, bool)
	budget    *yamltree.Budget // nodes of every file parsed
	ps        *problems
	cache     map[string][]byte // by absolute path
	read      int               // bytes read so far
}

// loadFile reads and transforms one config file. It returns nil for an
// empty file, as Backstage does, and for a file with errors.
func (l *loader) loadFile(name string) *node {
	data, err := l.readFile(name)
	if err != nil {
		l.ps.add(SeverityError, pos{file: name}, "", "cannot read config file: "+err.Error())
		return nil
	}
	root := parseYAML(name, data, l.budget, l.ps)
	if root == nil || root.kind == kindNull {
		return nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = filepath.Clean(name)
	}
	out := l.transform(root, "", filepath.Dir(name), []string{abs})
	if out == nil {
		return nil
	}
	if out.kind != kindMap {
		l.ps.expected(pos{file: name, line: 1, col: 1}, "", "a mapping of keys at the top of the file", out)
		return nil
	}
	out.pos = pos{file: name, line: 1, col: 1}
	return out
}

// readFile reads a regular file of at most maxFileBytes, once per Load.
// Its errors do not repeat the file name.
func (l *loader) readFile(name string) ([]byte, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = filepath.Clean(name)
	}
	if data, ok := l.cache[abs]; ok {
		return data, nil
	}
	// Stat before opening: opening a FIFO or a device could block.
	st, err := os.Stat(name)
	if err != nil {
		return nil, fileError(name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if st.Size() > maxFileBytes {
		return nil, fmt.Errorf("%s is larger than the limit of %d MiB", name, maxFileBytes>>20)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fileError(name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fileError(name, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%s is larger than the limit of %d MiB", name, maxFileBytes>>20)
	}
	l.read += len(data)
	if l.read > maxTotalBytes {
		return nil, fmt.Errorf("%s: the files read exceed %d MiB in total", name, maxTotalBytes>>20)
	}
	l.cache[abs] = data
	return data, nil
}

func fileError(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s does not exist", name)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", name, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}
