package scaffolder

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"greenroom/internal/greenroom"
)

// APIVersion is the only Template apiVersion accepted, Backstage's current one.
const APIVersion = "scaffolder.backstage.io/v1beta3"

// Template is a parsed Template entity.
type Template struct {
	Ref         greenroom.EntityRef
	Title       string
	Description string
	Tags        []string
	Owner       string
	Type        string
	// Parameters are the form's steps, each a JSON Schema object.
	Parameters []ParameterStep
	Steps      []Step
	// Output is spec.output (links, text), rendered when the task ends.
	Output map[string]any
	// Presentation is spec.presentation, passed on to the form.
	Presentation map[string]any
	// Entity is the whole entity as JSON-shaped data.
	Entity map[string]any
}

// ParameterStep is one page of the parameters form.
type ParameterStep struct {
	Title       string         `json:"title,omitempty"`
	Description string         `json:"description,omitempty"`
	Schema      map[string]any `json:"schema"`
}

// Step is one entry of spec.steps.
type Step struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Action string         `json:"action"`
	Input  map[string]any `json:"input,omitempty"`
	If     any            `json:"if,omitempty"`
	Each   any            `json:"each,omitempty"`
}

// maxSteps bounds a template's steps.
const maxSteps = 200

// ParseTemplate reads a Template entity (JSON, as the catalog serves it).
// Errors have code invalid and name the field.
func ParseTemplate(raw []byte) (*Template, error) {
	var ent map[string]any
	if err := json.Unmarshal(raw, &ent); err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "template is not a JSON object: %v", err)
	}
	return TemplateFromEntity(ent)
}

// TemplateFromEntity builds a Template from decoded entity data.
func TemplateFromEntity(ent map[string]any) (*Template, error) {
	bad := func(format string, args ...any) error {
		return greenroom.Errorf(greenroom.CodeInvalid, "template: "+format, args...)
	}
	if v, _ := ent["apiVersion"].(string); v != APIVersion {
		return nil, bad("apiVersion %q is not supported; want %s", v, APIVersion)
	}
	if k, _ := ent["kind"].(string); !strings.EqualFold(k, "Template") {
		return nil, bad("kind %q is not Template", k)
	}
	md, _ := ent["metadata"].(map[string]any)
	spec, _ := ent["spec"].(map[string]any)
	if md == nil || spec == nil {
		return nil, bad("metadata and spec are required")
	}
	name, _ := md["name"].(string)
	ns, _ := md["namespace"].(string)
	if name == "" {
		return nil, bad("metadata.name is required")
	}
	if ns == "" {
		ns = "default"
	}
	t := &Template{
		Ref:    greenroom.EntityRef{Kind: "template", Namespace: ns, Name: name},
		Entity: ent,
	}
	t.Title, _ = md["title"].(string)
	t.Description, _ = md["description"].(string)
	for _, tag := range asSlice(md["tags"]) {
		if s, ok := tag.(string); ok {
			t.Tags = append(t.Tags, s)
		}
	}
	t.Owner, _ = spec["owner"].(string)
	t.Type, _ = spec["type"].(string)
	t.Presentation, _ = spec["presentation"].(map[string]any)
	// parameters: one schema object or a list of them.
	switch p := spec["parameters"].(type) {
	case nil:
	case map[string]any:
		t.Parameters = append(t.Parameters, paramStep(p))
	case []any:
		for i, s := range p {
			m, ok := s.(map[string]any)
			if !ok {
				return nil, bad("spec.parameters[%d] must be an object", i)
			}
			t.Parameters = append(t.Parameters, paramStep(m))
		}
	default:
		return nil, bad("spec.parameters must be an object or a list of objects")
	}
	steps := asSlice(spec["steps"])
	if len(steps) > maxSteps {
		return nil, bad("spec.steps has %d steps; at most %d are allowed", len(steps), maxSteps)
	}
	for i, s := range steps {
		m, ok := s.(map[string]any)
		if !ok {
			return nil, bad("spec.steps[%d] must be an object", i)
		}
		st := Step{If: m["if"], Each: m["each"]}
		st.ID, _ = m["id"].(string)
		st.Name, _ = m["name"].(string)
		st.Action, _ = m["action"].(string)
		if in, ok := m["input"]; ok && in != nil {
			if st.Input, ok = in.(map[string]any); !ok {
				return nil, bad("spec.steps[%d].input must be an object", i)
			}
		}
		if st.ID == "" {
			st.ID = fmt.Sprintf("step-%d", i+1) // Backstage allows steps without ids
		}
		if st.Name == "" {
			st.Name = st.ID
		}
		if st.Action == "" {
			return nil, bad("spec.steps[%d] (%s) has no action", i, st.ID)
		}
		t.Steps = append(t.Steps, st)
	}
	if o, ok := spec["output"]; ok && o != nil {
		if t.Output, ok = o.(map[string]any); !ok {
			return nil, bad("spec.output must be an object")
		}
	}
	return t, nil
}

func paramStep(m map[string]any) ParameterStep {
	ps := ParameterStep{Schema: m}
	ps.Title, _ = m["title"].(string)
	ps.Description, _ = m["description"].(string)
	return ps
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

var printer = message.NewPrinter(language.English)

// Problem is one thing wrong with a template, found without running it.
type Problem struct {
	Path    string `json:"path"` // e.g. spec.steps[2].input.repoUrl
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

var (
	paramRef = regexp.MustCompile(`\bparameters\.([A-Za-z_$][A-Za-z0-9_$]*)|\bparameters\[\s*['"]([^'"]+)['"]\s*\]`)
	stepRef  = regexp.MustCompile(`\bsteps\.([A-Za-z_$][A-Za-z0-9_$]*)|\bsteps\[\s*['"]([^'"]+)['"]\s*\]`)
	exprRe   = regexp.MustCompile(`\$\{\{(?s:(.*?))\}\}`)
)

// Validate checks what can be checked before any run: unique step ids,
// known actions, parameter schemas that compile, expressions that parse,
// references to parameters no step declares or to steps not yet run, and
// step inputs without expressions against the action's input schema.
func (t *Template) Validate(actions *Registry, engine *Engine) []Problem {
	var out []Problem
	add := func(path, format string, args ...any) {
		out = append(out, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	declared := map[string]bool{}
	for i, p := range t.Parameters {
		path := fmt.Sprintf("spec.parameters[%d]", i)
		if _, err := compileSchema(p.Schema); err != nil {
			add(path, "invalid JSON Schema: %v", err)
		}
		collectProperties(p.Schema, declared, 0)
	}
	seen := map[string]int{}
	for i, st := range t.Steps {
		path := fmt.Sprintf("spec.steps[%d]", i)
		if j, dup := seen[st.ID]; dup {
			add(path+".id", "step id %q is used by spec.steps[%d] too", st.ID, j)
		}
		a, known := actions.Get(st.Action)
		if !known {
			add(path+".action", "unknown action %q", st.Action)
		}
		checkRefs := func(p string, v any) {
			walkStrings(v, p, func(p, s string) {
				for _, m := range exprRe.FindAllStringSubmatch(s, -1) {
					if _, err := engine.parse("${{"+m[1]+"}}", false); err != nil {
						add(p, "expression %q does not parse: %v", strings.TrimSpace(m[1]), err)
					}
					for _, r := range paramRef.FindAllStringSubmatch(m[1], -1) {
						name := r[1] + r[2]
						if len(t.Parameters) > 0 && !declared[name] {
							add(p, "references parameters.%s, which no parameter step declares", name)
						}
					}
					for _, r := range stepRef.FindAllStringSubmatch(m[1], -1) {
						id := r[1] + r[2]
						if j, ok := seen[id]; !ok || j >= i {
							add(p, "references steps.%s, which is not an earlier step", id)
						}
					}
				}
			})
		}
		checkRefs(path+".if", st.If)
		checkRefs(path+".input", st.Input)
		seen[st.ID] = i
		if known && a.inputSchema != nil && !containsExpr(st.Input) && st.Each == nil {
			if err := a.inputSchema.Validate(toJSONValue(st.Input)); err != nil {
				add(path+".input", "does not match %s's input schema: %s", st.Action, schemaMessage(err))
			}
		}
	}
	walkStrings(t.Output, "spec.output", func(p, s string) {
		for _, m := range exprRe.FindAllStringSubmatch(s, -1) {
			for _, r := range stepRef.FindAllStringSubmatch(m[1], -1) {
				if _, ok := seen[r[1]+r[2]]; !ok {
					add(p, "references steps.%s, which is not a step", r[1]+r[2])
				}
			}
		}
	})
	return out
}

// Problems is an error listing problems.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "; ")
}

func containsExpr(v any) bool {
	found := false
	walkStrings(v, "", func(_, s string) {
		if strings.Contains(s, "${{") {
			found = true
		}
	})
	return found
}

func walkStrings(v any, path string, fn func(path, s string)) {
	switch x := v.(type) {
	case string:
		fn(path, x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkStrings(x[k], path+"."+k, fn)
		}
	case []any:
		for i, e := range x {
			walkStrings(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

// collectProperties adds every property name a schema may define, in
// properties, dependencies, oneOf/anyOf/allOf and if/then/else.
func collectProperties(s any, into map[string]bool, depth int) {
	if depth > 32 {
		return
	}
	switch x := s.(type) {
	case map[string]any:
		if props, ok := x["properties"].(map[string]any); ok {
			for k := range props {
				into[k] = true
			}
		}
		for k, v := range x {
			if k == "properties" {
				// nested objects' properties are reached as parameters.a.b
				continue
			}
			collectProperties(v, into, depth+1)
		}
	case []any:
		for _, v := range x {
			collectProperties(v, into, depth+1)
		}
	}
}

// ValidateValues checks form values against every parameter step's schema
// (ui:* keys are ignored by JSON Schema).
func (t *Template) ValidateValues(values map[string]any) error {
	var msgs []string
	for i, p := range t.Parameters {
		sch, err := compileSchema(p.Schema)
		if err != nil {
			return greenroom.Errorf(greenroom.CodeInvalid, "spec.parameters[%d]: invalid JSON Schema: %v", i, err)
		}
		if err := sch.Validate(toJSONValue(values)); err != nil {
			title := p.Title
			if title == "" {
				title = fmt.Sprintf("step %d", i+1)
			}
			msgs = append(msgs, fmt.Sprintf("%s: %s", title, schemaMessage(err)))
		}
	}
	if len(msgs) > 0 {
		return greenroom.Errorf(greenroom.CodeInvalid, "parameters do not match the template's schema: %s", strings.Join(msgs, "; "))
	}
	return nil
}

func compileSchema(schema map[string]any) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	doc := toJSONValue(stripUI(schema))
	if err := c.AddResource("mem://schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("mem://schema.json")
}

// stripUI drops ui:* keys and the step title's own role so that form hints
// never reach the validator.
func stripUI(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if strings.HasPrefix(k, "ui:") {
				continue
			}
			out[k] = stripUI(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = stripUI(val)
		}
		return out
	}
	return v
}

// toJSONValue round-trips v through JSON so numbers are json.Number-free
// float64s and maps are map[string]any, as the validator expects.
func toJSONValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

func schemaMessage(err error) string {
	var ve *jsonschema.ValidationError
	if e, ok := err.(*jsonschema.ValidationError); ok {
		ve = e
	}
	if ve == nil {
		return err.Error()
	}
	var leaves []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			leaves = append(leaves, fmt.Sprintf("%s: %s", loc, e.ErrorKind.LocalizedString(printer)))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.Sort(leaves)
	return strings.Join(slices.Compact(leaves), "; ")
}

// WithDefaults returns values with the default of every top-level property
// of the parameter steps that values lacks, as Backstage's form submits
// them: API and CLI callers get the same values a user of the form would.
func (t *Template) WithDefaults(values map[string]any) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		out[k] = v
	}
	for _, p := range t.Parameters {
		props, _ := p.Schema["properties"].(map[string]any)
		for name, s := range props {
			sm, _ := s.(map[string]any)
			if d, ok := sm["default"]; ok {
				if _, set := out[name]; !set {
					out[name] = d
				}
			}
		}
	}
	return out
}
