package examples_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
)

type entity struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Metadata   metadata       `yaml:"metadata"`
	Spec       map[string]any `yaml:"spec"`

	file string // path within the FS
	doc  int    // 1-based index of the document within file
}

type metadata struct {
	Name        string         `yaml:"name"`
	Namespace   string         `yaml:"namespace"`
	Title       string         `yaml:"title"`
	Description string         `yaml:"description"`
	Labels      map[string]any `yaml:"labels"`
	Annotations map[string]any `yaml:"annotations"`
	Tags        []string       `yaml:"tags"`
	Links       []link         `yaml:"links"`
}

type link struct {
	URL   string `yaml:"url"`
	Title string `yaml:"title"`
	Icon  string `yaml:"icon"`
	Type  string `yaml:"type"`
}

func (e *entity) namespace() string {
	if e.Metadata.Namespace == "" {
		return "default"
	}
	return e.Metadata.Namespace
}

func (e *entity) ref() ref {
	return ref{strings.ToLower(e.Kind), strings.ToLower(e.namespace()), strings.ToLower(e.Metadata.Name)}
}

func (e *entity) String() string {
	return fmt.Sprintf("%s (%s, document %d)", e.ref(), e.file, e.doc)
}

type catalog struct {
	fsys     fs.FS
	entities []*entity
	// byRef indexes entities by their lower-cased reference; the first of
	// duplicates wins (checkEnvelope reports the others).
	byRef map[ref]*entity
	// targeted counts how often a Location names each entity file; the
	// root counts as named once.
	targeted map[string]int
	// texts maps each $text target to the entities that name it.
	texts map[string][]*entity
	// maxDepth is the length of the longest chain of files from the root.
	maxDepth int
}

// load follows Location targets from root, as Backstage's catalog does, and
// decodes every document of every file it reaches. A broken file does not
// stop the walk; its errors are returned with the rest.
func load(fsys fs.FS, root string) (*catalog, []error) {
	c := &catalog{
		fsys:     fsys,
		byRef:    map[ref]*entity{},
		targeted: map[string]int{root: 1},
		texts:    map[string][]*entity{},
	}
	var errs []error
	type item struct {
		file  string
		depth int
	}
	queue := []item{{root, 1}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		c.maxDepth = max(c.maxDepth, it.depth)
		data, err := fs.ReadFile(fsys, it.file)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", it.file, err))
			continue
		}
		ents, err := decodeAll(it.file, data)
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range ents {
			c.entities = append(c.entities, e)
			if _, dup := c.byRef[e.ref()]; !dup {
				c.byRef[e.ref()] = e
			}
			for _, tgt := range textTargets(e.Spec) {
				p, err := resolve(it.file, tgt)
				if err != nil {
					errs = append(errs, fmt.Errorf("%v: $text: %w", e, err))
					continue
				}
				c.texts[p] = append(c.texts[p], e)
			}
			if e.Kind != "Location" {
				continue
			}
			targets, err := locationTargets(e)
			if err != nil {
				errs = append(errs, fmt.Errorf("%v: %w", e, err))
			}
			for _, tgt := range targets {
				p, err := resolve(it.file, tgt)
				if err != nil {
					errs = append(errs, fmt.Errorf("%v: target: %w", e, err))
					continue
				}
				c.targeted[p]++
				if c.targeted[p] == 1 {
					queue = append(queue, item{p, it.depth + 1})
				}
			}
		}
	}
	return c, errs
}

// decodeAll decodes every document of a multi-document YAML file. Unknown
// fields in the envelope or in metadata are errors, which catches typos
// such as "anotations".
func decodeAll(file string, data []byte) ([]*entity, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField())
	var ents []*entity
	for i := 1; ; i++ {
		e := &entity{file: file, doc: i}
		err := dec.Decode(e)
		if errors.Is(err, io.EOF) {
			return ents, nil
		}
		if err != nil {
			return ents, fmt.Errorf("%s, document %d: %w", file, i, err)
		}
		ents = append(ents, e)
	}
}

func locationTargets(e *entity) ([]string, error) {
	var out []string
	if t, ok := e.Spec["target"]; ok {
		s, ok := t.(string)
		if !ok {
			return nil, fmt.Errorf("spec.target is %T, want a string", t)
		}
		out = append(out, s)
	}
	if ts, ok := e.Spec["targets"]; ok {
		list, err := strList(ts)
		if err != nil {
			return nil, fmt.Errorf("spec.targets: %w", err)
		}
		out = append(out, list...)
	}
	if len(out) == 0 {
		return nil, errors.New("location has neither spec.target nor spec.targets")
	}
	return out, nil
}

// resolve turns a target written in file into a path within the FS. The
// demo is embedded, so only relative targets make sense, and files are
// listed one by one rather than by glob.
func resolve(file, target string) (string, error) {
	if !strings.HasPrefix(target, "./") && !strings.HasPrefix(target, "../") {
		return "", fmt.Errorf("%q is not a relative path (./ or ../)", target)
	}
	if strings.ContainsAny(target, "*?[{") {
		return "", fmt.Errorf("%q is a glob; list files explicitly", target)
	}
	p := path.Join(path.Dir(file), target)
	if !fs.ValidPath(p) || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("%q leaves the catalog's root directory", target)
	}
	return p, nil
}

// textTargets returns the targets of the $text placeholders anywhere in v.
func textTargets(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if t := textTarget(v); t != "" {
			return []string{t}
		}
		for _, k := range sortedKeys(v) {
			out = append(out, textTargets(v[k])...)
		}
	case []any:
		for _, x := range v {
			out = append(out, textTargets(x)...)
		}
	}
	return out
}

// textTarget returns the target of v if v is a {$text: target} placeholder.
func textTarget(v any) string {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return ""
	}
	return str(m["$text"])
}

func str(v any) string { s, _ := v.(string); return s }

func strList(v any) ([]string, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("is %T, want a list of strings", v)
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, ok := x.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("item %#v is not a non-empty string", x)
		}
		out = append(out, s)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
