package catalog

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/yamltree"
)

// FileProblem is one problem ValidateFiles found, located in its file as
// precisely as known: the field's own line and column when the entity's
// YAML has it, else the document's line.
type FileProblem struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Ref    string `json:"ref,omitempty"`  // the entity, when it could be read
	Path   string `json:"path,omitempty"` // e.g. metadata.tags[2]
	Rule   string `json:"rule"`
}

// String returns "file:line:col: ref: path: rule", leaving out what is
// unknown.
func (p FileProblem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteString(":" + strconv.Itoa(p.Column))
		}
	}
	for _, s := range []string{p.Ref, p.Path, p.Rule} {
		if s != "" {
			b.WriteString(": " + s)
		}
	}
	return b.String()
}

// ValidateReport is what ValidateFiles found.
type ValidateReport struct {
	Files    []string      `json:"files"`    // every file read, in order
	Entities int           `json:"entities"` // documents that were entities
	Problems []FileProblem `json:"problems"`
	// Skipped are the url targets of Location entities, which are not
	// fetched: notes, not problems.
	Skipped []FileProblem `json:"skipped,omitempty"`
}

// ValidateFiles checks catalog files exactly as ingestion reads a file
// location: every document of each file and of the files its Location
// entities name, placeholders ($text, $json, $yaml) resolved, then
// Backstage's validation and the relations check, with the given custom
// kinds. An entity defined twice — within one location, or in two of the
// files given — is a problem too, since the catalog would keep only one.
// Catalog rules are not applied: they depend on how a file is registered.
//
// File names are shown relative to the working directory when they are
// inside it. The error is for a malformed custom kind only; everything
// wrong with the files is in the report.
func ValidateFiles(paths []string, custom ...entity.CustomKind) (ValidateReport, error) {
	v, err := entity.NewValidator(custom...)
	if err != nil {
		return ValidateReport{}, fmt.Errorf("catalog: %w", err)
	}
	cwd, _ := os.Getwd()
	vr := &validateRun{
		proc:  &processor{validator: v},
		cwd:   cwd,
		seen:  map[string]bool{},
		first: map[string]string{},
		trees: map[string][]*yamltree.Node{},
		out:   ValidateReport{Problems: []FileProblem{}},
	}
	for _, p := range paths {
		vr.file(p)
	}
	rank := make(map[string]int, len(vr.out.Files))
	for i, f := range vr.out.Files {
		rank[f] = i
	}
	slices.SortStableFunc(vr.out.Problems, func(a, b FileProblem) int {
		return cmp.Or(cmp.Compare(rank[a.File], rank[b.File]), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return vr.out, nil
}

type validateRun struct {
	proc  *processor
	cwd   string
	seen  map[string]bool   // files read, by path within the source's FS
	first map[string]string // entity ref -> where it was first defined
	trees map[string][]*yamltree.Node
	out   ValidateReport
}

func (vr *validateRun) file(path string) {
	src, err := FileSource(path, nil)
	if err != nil {
		vr.out.Problems = append(vr.out.Problems, FileProblem{File: path, Rule: err.Error()})
		return
	}
	if vr.seen[src.Root] {
		return // named twice, or reached through an earlier file's Location
	}
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		msg := "is a directory; name the catalog files"
		switch {
		case errors.Is(err, fs.ErrNotExist):
			msg = "file does not exist"
		case err != nil:
			msg = "cannot read the file: " + rootError(err).Error()
		}
		vr.note(src.Root)
		vr.out.Problems = append(vr.out.Problems, FileProblem{File: vr.display(src.Root), Rule: msg})
		return
	}
	before := make(map[string]bool, len(vr.seen))
	for f := range vr.seen {
		before[f] = true
	}
	// Only files are read: a url target is reported, not fetched.
	raw, errs := readTree(context.Background(), src.FS, src.Root, nil)
	vr.note(src.Root)
	for _, e := range errs {
		var le *LocationError
		if errors.As(e, &le) {
			if before[le.File] {
				continue
			}
			if strings.HasSuffix(le.Message, errNoURLReader.Error()) {
				vr.out.Skipped = append(vr.out.Skipped, FileProblem{File: vr.display(le.File), Line: le.Line,
					Rule: strings.TrimSuffix(le.Message, errNoURLReader.Error()) + "not checked: only files are read"})
				continue
			}
			vr.note(le.File)
			vr.out.Problems = append(vr.out.Problems, FileProblem{File: vr.display(le.File), Line: le.Line, Column: le.Column, Rule: le.Message})
			continue
		}
		vr.out.Problems = append(vr.out.Problems, FileProblem{File: vr.display(src.Root), Rule: e.Error()})
	}
	inLocation := map[string]string{} // ref -> where this location first defined it
	for _, re := range raw {
		if before[re.File] {
			continue // already checked as part of an earlier file
		}
		vr.note(re.File)
		vr.out.Entities++
		p, perrs := vr.proc.process(src, re)
		for _, pe := range perrs {
			vr.out.Problems = append(vr.out.Problems, vr.locate(src, re, pe))
		}
		if len(perrs) > 0 {
			continue
		}
		ref, at := p.rec.Ref, vr.display(re.File)+":"+strconv.Itoa(re.Line)
		dup := FileProblem{File: vr.display(re.File), Line: re.Line, Ref: ref}
		if prev, ok := inLocation[ref]; ok {
			dup.Rule = "entity is defined twice in this location (first at " + prev + ")"
			vr.out.Problems = append(vr.out.Problems, dup)
			continue
		}
		inLocation[ref] = at
		if prev, ok := vr.first[ref]; ok {
			dup.Rule = "entity is also defined at " + prev + "; the catalog keeps only the first location's"
			vr.out.Problems = append(vr.out.Problems, dup)
			continue
		}
		vr.first[ref] = at
	}
}

// note records a file as read, once.
func (vr *validateRun) note(file string) {
	if !vr.seen[file] {
		vr.seen[file] = true
		vr.out.Files = append(vr.out.Files, vr.display(file))
	}
}

// display turns a path within the root file system into one for people:
// relative to the working directory when inside it, else absolute.
func (vr *validateRun) display(file string) string {
	abs := string(filepath.Separator) + filepath.FromSlash(file)
	if vr.cwd != "" {
		if rel, err := filepath.Rel(vr.cwd, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return rel
		}
	}
	return abs
}

// locate turns a processing error into a FileProblem with the line and
// column of the offending field, or of its nearest enclosing one.
func (vr *validateRun) locate(src Source, re rawEntity, err error) FileProblem {
	var pe *ProcessingError
	if !errors.As(err, &pe) {
		return FileProblem{File: vr.display(re.File), Line: re.Line, Rule: err.Error()}
	}
	fp := FileProblem{File: vr.display(pe.File), Line: pe.Line, Ref: pe.Ref, Path: pe.Path, Rule: pe.Rule}
	if doc := vr.document(src, re); doc != nil {
		at := nodeAt(doc, pe.Path).Pos()
		if at.Line > 0 {
			fp.Line, fp.Column = at.Line, at.Column
		}
	}
	return fp
}

// document returns the parsed YAML document re came from, or nil.
func (vr *validateRun) document(src Source, re rawEntity) *yamltree.Node {
	docs, ok := vr.trees[re.File]
	if !ok {
		if data, err := readBounded(src.FS, re.File); err == nil {
			docs, _ = yamltree.ParseDocuments(re.File, data, yamlLimits, nil)
		}
		vr.trees[re.File] = docs
	}
	for _, d := range docs {
		if d.Pos().Line == re.Line {
			return d
		}
	}
	return nil
}

// nodeAt follows a problem path (metadata.tags[2], spec["a.b"], <root>)
// from doc as far as the document has it.
func nodeAt(doc *yamltree.Node, path string) *yamltree.Node {
	cur := doc
	for _, step := range pathSteps(path) {
		var next *yamltree.Node
		if step.index >= 0 && cur.Kind() == yamltree.Seq {
			for i, it := range cur.Items() {
				if i == step.index {
					next = it
					break
				}
			}
		} else if step.index < 0 {
			next = cur.Get(step.key)
		}
		if next == nil {
			break
		}
		cur = next
	}
	return cur
}

type pathStep struct {
	key   string
	index int // -1 for a key
}

// pathSteps splits a problem path into keys and indexes; what it cannot
// read ends the walk early, which only makes the location coarser.
func pathSteps(path string) []pathStep {
	if path == "" || path == "<root>" {
		return nil
	}
	var out []pathStep
	for path != "" {
		switch {
		case path[0] == '.':
			path = path[1:]
		case strings.HasPrefix(path, `["`):
			var key string
			dec := json.NewDecoder(strings.NewReader(path[1:]))
			if err := dec.Decode(&key); err != nil {
				return out
			}
			rest := path[1+int(dec.InputOffset()):]
			if !strings.HasPrefix(rest, "]") {
				return out
			}
			out = append(out, pathStep{key: key, index: -1})
			path = rest[1:]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			n, err := strconv.Atoi(path[1:max(end, 1)])
			if end < 0 || err != nil {
				return out
			}
			out = append(out, pathStep{index: n})
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			out = append(out, pathStep{key: path[:end], index: -1})
			path = path[end:]
		}
	}
	return out
}

// rootError drops the path an os error repeats.
func rootError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
