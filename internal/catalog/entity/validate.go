package entity

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"greenroom/internal/greenroom"
)

// Problem is one way an entity breaks a rule: where, as a path into the
// entity such as metadata.tags[2] or spec.owner (<root> for the entity as a
// whole), and which rule, in a sentence safe to show to users.
type Problem struct {
	Path    string
	Message string
}

// String returns "path: message".
func (p Problem) String() string { return p.Path + ": " + p.Message }

// Problems is the list Validate returns. As an error it reads as every
// problem, separated by semicolons.
type Problems []Problem

// Error implements the error interface.
func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "; ")
}

// CustomKind registers a kind beyond the built-in ones, the way
// catalog.rules-style configuration admits extra kinds without code.
//
// Schema is a JSON Schema (any draft; draft-07 when it names none) for the
// whole entity or for its spec alone. It is taken to describe the whole
// entity when its root, or an allOf/anyOf/oneOf branch of it, declares
// properties apiVersion, kind, metadata or spec, or $refs Entity; otherwise
// it describes spec, which must then be present. A Backstage kind schema
// ({"allOf": [{"$ref": "Entity"}, ...]}) works unchanged. A nil Schema
// admits any spec. The envelope rules apply to custom kinds as to all.
type CustomKind struct {
	APIVersion string
	Kind       string
	Schema     []byte
}

// Validator checks entities against Backstage's rules and the per-kind
// schemas, built-in and custom. It is safe for concurrent use.
type Validator struct {
	envelope *jsonschema.Schema
	kinds    map[string]map[string]*kindSchema // kind → apiVersion → schema
}

type kindSchema struct {
	schema   *jsonschema.Schema // nil: any spec
	specOnly bool
	builtin  bool
}

// NewValidator returns a validator for the built-in kinds (compiled once per
// process and shared) and the given custom ones. It fails when a custom kind
// is malformed, repeats another, or its schema does not compile.
func NewValidator(custom ...CustomKind) (*Validator, error) {
	set, err := builtinSchemas()
	if err != nil {
		return nil, err
	}
	v := &Validator{envelope: set.envelope, kinds: map[string]map[string]*kindSchema{}}
	for name, k := range builtinKinds {
		v.kinds[name] = map[string]*kindSchema{}
		for _, av := range k.apiVersions {
			v.kinds[name][av] = &kindSchema{schema: set.kinds[name], builtin: true}
		}
	}
	var c *jsonschema.Compiler
	for i, ck := range custom {
		if !isValidAPIVersion(ck.APIVersion) || !isValidKind(ck.Kind) {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "custom kind %q, apiVersion %q: not a valid kind and apiVersion", ck.Kind, ck.APIVersion)
		}
		if v.kinds[ck.Kind][ck.APIVersion] != nil {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "custom kind %s (%s) is already defined", ck.Kind, ck.APIVersion)
		}
		ks := &kindSchema{}
		if len(bytes.TrimSpace(ck.Schema)) > 0 {
			if c == nil {
				if c, err = newCompiler(); err != nil {
					return nil, err
				}
			}
			if ks.schema, ks.specOnly, err = compileCustom(c, i, ck); err != nil {
				return nil, err
			}
		}
		if v.kinds[ck.Kind] == nil {
			v.kinds[ck.Kind] = map[string]*kindSchema{}
		}
		v.kinds[ck.Kind][ck.APIVersion] = ks
	}
	return v, nil
}

func compileCustom(c *jsonschema.Compiler, i int, ck CustomKind) (*jsonschema.Schema, bool, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ck.Schema))
	if err != nil {
		return nil, false, greenroom.Errorf(greenroom.CodeInvalid, "custom kind %s (%s): schema is not JSON: %w", ck.Kind, ck.APIVersion, err)
	}
	url := schemaBase + "custom-" + strconv.Itoa(i) + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, false, greenroom.Errorf(greenroom.CodeInvalid, "custom kind %s (%s): %w", ck.Kind, ck.APIVersion, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, false, greenroom.Errorf(greenroom.CodeInvalid, "custom kind %s (%s): schema does not compile: %w", ck.Kind, ck.APIVersion, err)
	}
	return sch, !describesEntity(doc, 0), nil
}

// describesEntity reports whether a schema document is about a whole entity
// rather than its spec (see CustomKind).
func describesEntity(doc any, depth int) bool {
	m, ok := doc.(map[string]any)
	if !ok || depth > 4 {
		return false
	}
	if ref, _ := m["$ref"].(string); ref == "Entity" || ref == "entity.json" || ref == "EntityEnvelope" {
		return true
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for _, k := range [...]string{"apiVersion", "kind", "metadata", "spec"} {
			if _, ok := props[k]; ok {
				return true
			}
		}
	}
	for _, kw := range [...]string{"allOf", "anyOf", "oneOf"} {
		branches, _ := m[kw].([]any)
		for _, b := range branches {
			if describesEntity(b, depth+1) {
				return true
			}
		}
	}
	return false
}

var defaultValidator = sync.OnceValue(func() *Validator {
	v, err := NewValidator()
	if err != nil {
		panic(err) // the embedded schemas are broken: a build defect, caught by the tests
	}
	return v
})

// Validate checks e with the built-in kinds only; see Validator.Validate.
func Validate(e *Entity) Problems { return defaultValidator().Validate(e) }

// Validate returns every problem with e, or nil when it is valid, sorted by
// path. It applies, as Backstage's catalog does before accepting an entity:
//
//   - the envelope schema (SchemaValidEntityPolicy): apiVersion, kind and
//     metadata.name required, and each known field of the right type;
//   - NoForeignRootFieldsEntityPolicy: only apiVersion, kind, metadata,
//     spec, relations and status at the root;
//   - FieldFormatEntityPolicy: the formats of apiVersion, kind, name,
//     namespace, label and annotation keys and values, tags and links;
//   - the kind's schema, for a known (kind, apiVersion) pair; any other pair
//     is a problem, as Backstage rejects an entity no processor recognizes;
//   - the references in the built-in kinds' relation fields, which must
//     parse (dependsOn and dependencyOf have no default kind).
//
// Backstage stops at the first failure; Validate reports them all, at most
// one per path except that a label's key and value are reported apart.
func (v *Validator) Validate(e *Entity) Problems {
	raw := e.raw
	var own, schema Problems
	addOwn := func(path, msg string) { own = append(own, Problem{path, msg}) }
	addSchema := func(path, msg string) { schema = append(schema, Problem{path, msg}) }

	checkFields(raw, addOwn)
	if err := v.envelope.Validate(raw); err != nil {
		schemaProblems(raw, nil, err, addSchema)
	}
	// Unknown kinds come after format problems: a kind of the wrong format
	// is reported once, for its format.
	if ks := v.kindOf(raw, addSchema); ks != nil {
		v.checkKind(raw, ks, addSchema)
		if ks.builtin {
			spec, _ := raw["spec"].(map[string]any)
			for _, f := range relationFieldsOf(e) {
				eachRef(spec, f, e.Namespace(), func(greenroom.EntityRef) {},
					func(p Problem) { addSchema(p.Path, p.Message) })
			}
		}
	}
	return merge(own, schema)
}

// kindOf finds the schema for the entity's kind and apiVersion, reporting
// a pair that none covers. It returns nil when there is nothing to check.
func (v *Validator) kindOf(raw map[string]any, add func(path, msg string)) *kindSchema {
	apiVersion, _ := raw["apiVersion"].(string)
	kindName, _ := raw["kind"].(string)
	if apiVersion == "" || kindName == "" {
		return nil // the envelope schema reports it
	}
	versions, ok := v.kinds[kindName]
	if !ok {
		add("kind", fmt.Sprintf("unknown kind %s with apiVersion %s: no built-in or registered kind recognizes the entity, possibly caused by a foreign kind or apiVersion (kinds compare case-sensitively)", quote(kindName), quote(apiVersion)))
		return nil
	}
	ks, ok := versions[apiVersion]
	if !ok {
		add("apiVersion", fmt.Sprintf("kind %s does not support apiVersion %s; expected %s", kindName, quote(apiVersion), strings.Join(slices.Sorted(maps.Keys(versions)), " or ")))
		return nil
	}
	return ks
}

func (v *Validator) checkKind(raw map[string]any, ks *kindSchema, add func(path, msg string)) {
	if ks.schema == nil {
		return
	}
	if !ks.specOnly {
		if err := ks.schema.Validate(raw); err != nil {
			schemaProblems(raw, nil, err, add)
		}
		return
	}
	spec, ok := raw["spec"]
	if !ok {
		add("spec", `required property "spec" is missing`)
		return
	}
	if err := ks.schema.Validate(spec); err != nil {
		schemaProblems(raw, []string{"spec"}, err, add)
	}
}

// merge keeps every problem of own and, of the schema and reference
// problems, the first at each path not already reported, sorted by path.
func merge(own, schema Problems) Problems {
	if len(own)+len(schema) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(own)+len(schema))
	for _, p := range own {
		seen[p.Path] = true
	}
	out := own
	for _, p := range schema {
		if !seen[p.Path] {
			seen[p.Path] = true
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b Problem) int {
		if c := comparePaths(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return out
}
