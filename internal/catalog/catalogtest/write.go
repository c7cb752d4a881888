package catalogtest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MaxPerFile bounds the documents written to one file; it matches the
// most documents Greenroom's reader takes from one file.
const MaxPerFile = 10000

// RootFile is the name of the Location file Write puts in its directory.
const RootFile = "all.yaml"

// RootLocation is the name of the Location entity in RootFile.
const RootLocation = "bench-catalog"

// MaxLocations bounds the Location files WriteSplit writes.
const MaxLocations = 1000

// Layout is what Write produced.
type Layout struct {
	Root  string   // absolute path of the first (with Write, the only) Location file
	Roots []string // absolute paths of every Location file
	Files []string // the entity files, relative to the roots' directory
	Bytes int64    // size of all files written
}

// Write writes ents into dir as multi-document YAML files of at most
// perFile entities, one kind per file in the order given (group-0001.yaml,
// user-0001.yaml, …), and RootFile: a Location entity whose targets are
// those files, the way large Backstage catalogs split their org and
// software files behind one registered location.
func Write(dir string, ents []Entity, perFile int) (Layout, error) {
	return WriteSplit(dir, ents, perFile, 1)
}

// WriteSplit is Write with the entity files shared out, in order, among
// locations Location files (all-01.yaml, all-02.yaml, … when more than
// one), for catalogs registered as several locations, as very large ones
// are.
func WriteSplit(dir string, ents []Entity, perFile, locations int) (Layout, error) {
	var lay Layout
	if perFile < 1 || perFile > MaxPerFile {
		return lay, fmt.Errorf("catalogtest: %d entities per file asked; write between 1 and %d", perFile, MaxPerFile)
	}
	if locations < 1 || locations > MaxLocations {
		return lay, fmt.Errorf("catalogtest: %d locations asked; write between 1 and %d", locations, MaxLocations)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return lay, fmt.Errorf("catalogtest: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return lay, fmt.Errorf("catalogtest: %w", err)
	}
	seq := map[string]int{}
	for start := 0; start < len(ents); {
		kind := ents[start].Kind
		end := start
		for end < len(ents) && end-start < perFile && ents[end].Kind == kind {
			end++
		}
		seq[kind]++
		name := fmt.Sprintf("%s-%04d.yaml", strings.ToLower(kind), seq[kind])
		n, err := writeDocs(filepath.Join(abs, name), ents[start:end])
		if err != nil {
			return lay, err
		}
		lay.Files = append(lay.Files, name)
		lay.Bytes += n
		start = end
	}
	locations = min(locations, max(1, len(lay.Files)))
	for i := range locations {
		// Location i gets the i-th contiguous share of the files.
		from, to := i*len(lay.Files)/locations, (i+1)*len(lay.Files)/locations
		targets := make([]string, 0, to-from)
		for _, f := range lay.Files[from:to] {
			targets = append(targets, "./"+f)
		}
		file, name := RootFile, RootLocation
		desc := fmt.Sprintf("A generated catalog of %d entities.", len(ents))
		if locations > 1 {
			file = fmt.Sprintf("all-%02d.yaml", i+1)
			name = fmt.Sprintf("%s-%02d", RootLocation, i+1)
			desc = fmt.Sprintf("Part %d of %d of a generated catalog of %d entities.", i+1, locations, len(ents))
		}
		root := Entity{
			APIVersion: "backstage.io/v1alpha1", Kind: "Location",
			Metadata: Metadata{Name: name, Description: desc},
			Spec:     LocationSpec{Targets: targets},
		}
		path := filepath.Join(abs, file)
		n, err := writeDocs(path, []Entity{root})
		if err != nil {
			return lay, err
		}
		lay.Roots = append(lay.Roots, path)
		lay.Bytes += n
	}
	lay.Root = lay.Roots[0]
	return lay, nil
}

func writeDocs(path string, ents []Entity) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("catalogtest: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	var n int64
	var doc []byte
	for _, e := range ents {
		doc = append(doc[:0], "---\n"...)
		doc = e.AppendYAML(doc)
		w.Write(doc)
		n += int64(len(doc))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, fmt.Errorf("catalogtest: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("catalogtest: write %s: %w", path, err)
	}
	return n, nil
}
