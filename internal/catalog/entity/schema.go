package entity

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The schemas are this package's own JSON Schema (draft-07) files, written
// to carry the same constraints as Backstage's Entity, EntityMeta, common
// and kind schemas.
//
//go:embed schemas/*.json
var schemaFS embed.FS

// schemaBase is where the embedded schemas live for $ref resolution. No
// loader is installed, so nothing outside the embedded set is ever fetched.
const schemaBase = "mem://greenroom/schemas/"

// sharedSchemas are the schemas other schemas may $ref, under our file
// names and under the $id Backstage gives them, so that a custom kind's
// schema written for Backstage ({"$ref": "Entity"}, "common#reference")
// resolves unchanged.
var sharedSchemas = map[string][]string{
	"entity.json": {"Entity"},
	"meta.json":   {"EntityMeta"},
	"common.json": {"common"},
}

var backstageVersions = []string{"backstage.io/v1alpha1", "backstage.io/v1beta1"}

// builtinKinds are the kinds Backstage's catalog (and scaffolder) knows,
// with the apiVersions each accepts and its schema file.
var builtinKinds = map[string]struct {
	apiVersions []string
	file        string
}{
	"Component": {backstageVersions, "component.json"},
	"API":       {backstageVersions, "api.json"},
	"Resource":  {backstageVersions, "resource.json"},
	"System":    {backstageVersions, "system.json"},
	"Domain":    {backstageVersions, "domain.json"},
	"Group":     {backstageVersions, "group.json"},
	"User":      {backstageVersions, "user.json"},
	"Location":  {backstageVersions, "location.json"},
	"Template":  {[]string{"scaffolder.backstage.io/v1beta3"}, "template.json"},
}

// builtinSchemas compiles the embedded schemas once per process.
var builtinSchemas = sync.OnceValues(func() (*compiledSet, error) {
	c, err := newCompiler()
	if err != nil {
		return nil, err
	}
	set := &compiledSet{kinds: map[string]*jsonschema.Schema{}}
	if set.envelope, err = c.Compile(schemaBase + "entity.json"); err != nil {
		return nil, fmt.Errorf("entity: compile envelope schema: %w", err)
	}
	for name, k := range builtinKinds {
		if set.kinds[name], err = c.Compile(schemaBase + k.file); err != nil {
			return nil, fmt.Errorf("entity: compile %s schema: %w", name, err)
		}
	}
	return set, nil
})

type compiledSet struct {
	envelope *jsonschema.Schema
	kinds    map[string]*jsonschema.Schema
}

// newCompiler returns a compiler holding every embedded schema.
func newCompiler() (*jsonschema.Compiler, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(noLoader{})
	files, err := schemaFS.ReadDir("schemas")
	if err != nil {
		return nil, fmt.Errorf("entity: read schemas: %w", err)
	}
	for _, f := range files {
		data, err := schemaFS.ReadFile("schemas/" + f.Name())
		if err != nil {
			return nil, fmt.Errorf("entity: read schema %s: %w", f.Name(), err)
		}
		for _, name := range append([]string{f.Name()}, sharedSchemas[f.Name()]...) {
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("entity: parse schema %s: %w", f.Name(), err)
			}
			if err := c.AddResource(schemaBase+name, doc); err != nil {
				return nil, fmt.Errorf("entity: add schema %s: %w", name, err)
			}
		}
	}
	return c, nil
}

// noLoader refuses every URL: schemas are data given to us, and a $ref in
// one must not make the server read files or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not one of the embedded or registered schemas", url)
}

var printer = message.NewPrinter(language.English)

// schemaProblems turns a validation error into problems. prefix is the
// location of the validated value within root (["spec"] when only the spec
// was validated).
func schemaProblems(root any, prefix []string, err error, add func(path, msg string)) {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		add(rootPath, err.Error())
		return
	}
	loc := func(e *jsonschema.ValidationError, extra ...string) string {
		tokens := append(append(append([]string{}, prefix...), e.InstanceLocation...), extra...)
		return tokensPath(root, tokens)
	}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		switch k := e.ErrorKind.(type) {
		case *kind.Schema, *kind.Reference, *kind.AllOf, *kind.Group:
			if len(e.Causes) == 0 {
				add(loc(e), k.LocalizedString(printer))
			}
			for _, c := range e.Causes {
				walk(c)
			}
		case *kind.Required:
			for _, m := range k.Missing {
				add(loc(e, m), fmt.Sprintf("required property %q is missing", m))
			}
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				add(loc(e, p), "property is not allowed here")
			}
		case *kind.AnyOf, *kind.OneOf:
			var alts []string
			for _, c := range e.Causes {
				alts = append(alts, leafMessage(c))
			}
			msg := "does not match any of the allowed forms"
			if o, ok := k.(*kind.OneOf); ok && len(o.Subschemas) > 1 {
				msg = "matches more than one of the allowed forms"
			} else if len(alts) > 0 {
				msg += " (" + strings.Join(alts, "; or ") + ")"
			}
			add(loc(e), msg)
		default:
			add(loc(e), message1(k))
		}
	}
	walk(ve)
}

// leafMessage describes the first concrete failure under e.
func leafMessage(e *jsonschema.ValidationError) string {
	for len(e.Causes) > 0 {
		e = e.Causes[0]
	}
	return message1(e.ErrorKind)
}

// message1 words one schema failure in the spirit of Backstage's (ajv's)
// messages.
func message1(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("must be %s, but is %s", article(strings.Join(k.Want, " or ")), article(k.Got))
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long", k.Want)
	case *kind.Enum:
		return strings.Replace(k.LocalizedString(printer), "value must", "must", 1)
	case *kind.Pattern:
		return fmt.Sprintf("must match pattern %q", k.Want)
	case *kind.Minimum:
		return fmt.Sprintf("must be >= %s", k.Want.RatString())
	default:
		return k.LocalizedString(printer)
	}
}

func article(t string) string {
	switch t {
	case "array", "integer", "object":
		return "an " + t
	case "null":
		return t
	}
	return "a " + t
}
