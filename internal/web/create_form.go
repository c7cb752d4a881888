package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"

	"greenroom/internal/greenroom"
	"greenroom/internal/scaffolder"
)

// formField is one input generated from a parameter's JSON Schema.
type formField struct {
	Name, ID, Label, Help, Widget, Type string
	Value                               string
	Checked, Required, Autofocus        bool
	Pattern                             string
	MinLength, MaxLength                int
	Min, Max                            string
	Enum                                []enumOption
	Datalist                            []string
	Hosts                               []string // RepoUrlPicker
	Host, Owner, Repo                   string
	Error                               string
	Display                             string // for the review step
}

type enumOption struct {
	Value, Label string
	Selected     bool
}

type formStep struct {
	Title, Description string
	Fields             []formField
}

type createFormView struct {
	Title, Description, Action, EditPath string
	Steps                                []formStep
	Errors                               []formField // fields in error, for the summary
	General                              string
	Review                               bool
	Can                                  control // may the viewer run it (POST Action)
}

func (c *CreatePages) formView(ctx context.Context, t *scaffolder.Template, values map[string]any, errs map[string]string) createFormView {
	v := createFormView{Title: or(t.Title, t.Ref.Name), Description: t.Description,
		Action:   "/create/templates/" + url.PathEscape(t.Ref.Namespace) + "/" + url.PathEscape(t.Ref.Name),
		EditPath: "/create/edit?template=" + url.QueryEscape(t.Ref.String()), General: errs[""]}
	for si, p := range t.Parameters {
		st := formStep{Title: or(p.Title, fmt.Sprintf("Step %d", si+1)), Description: p.Description}
		required := map[string]bool{}
		for _, r := range asList(p.Schema["required"]) {
			if s, ok := r.(string); ok {
				required[s] = true
			}
		}
		props, _ := p.Schema["properties"].(map[string]any)
		for _, name := range orderedKeys(p.Schema, props) {
			s, _ := props[name].(map[string]any)
			f := c.field(ctx, name, s, values[name])
			f.Required = required[name]
			f.Error = errs[name]
			if f.Error != "" {
				v.Errors = append(v.Errors, f)
			}
			st.Fields = append(st.Fields, f)
		}
		v.Steps = append(v.Steps, st)
	}
	return v
}

// orderedKeys are the properties in ui:order, else in name order (Go maps
// lose YAML order).
func orderedKeys(schema map[string]any, props map[string]any) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range asList(schema["ui:order"]) {
		if s, ok := k.(string); ok && props[s] != nil && !seen[s] {
			out = append(out, s)
			seen[s] = true
		}
	}
	var rest []string
	for k := range props {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Slice(rest, func(i, j int) bool {
		return fieldRank(props, rest[i]) < fieldRank(props, rest[j]) || fieldRank(props, rest[i]) == fieldRank(props, rest[j]) && rest[i] < rest[j]
	})
	return append(out, rest...)
}

// fieldRank puts the autofocused field first.
func fieldRank(props map[string]any, k string) int {
	if s, _ := props[k].(map[string]any); s != nil && s["ui:autofocus"] == true {
		return 0
	}
	return 1
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func (c *CreatePages) field(ctx context.Context, name string, s map[string]any, val any) formField {
	f := formField{Name: "p." + name, ID: "p-" + idSafe(name), Label: or(str(s["title"]), name), Type: str(s["type"])}
	f.Help = strings.TrimSpace(str(s["description"]) + " " + str(s["ui:help"]))
	f.Autofocus = s["ui:autofocus"] == true
	f.Pattern, _ = s["pattern"].(string)
	if n, ok := s["minLength"].(float64); ok {
		f.MinLength = int(n)
	}
	if n, ok := s["maxLength"].(float64); ok {
		f.MaxLength = int(n)
	}
	if n, ok := s["minimum"].(float64); ok {
		f.Min = strconv.FormatFloat(n, 'f', -1, 64)
	}
	if n, ok := s["maximum"].(float64); ok {
		f.Max = strconv.FormatFloat(n, 'f', -1, 64)
	}
	uiField, _ := s["ui:field"].(string)
	uiWidget, _ := s["ui:widget"].(string)
	opts, _ := s["ui:options"].(map[string]any)
	f.Display = displayValue(val)
	switch {
	case uiField == "RepoUrlPicker":
		f.Widget = "repourl"
		for _, h := range asList(opts["allowedHosts"]) {
			if hs, ok := h.(string); ok {
				f.Hosts = append(f.Hosts, hs)
			}
		}
		if s, ok := val.(string); ok && s != "" {
			if r, err := scaffolder.ParseRepoURL(s); err == nil {
				f.Host, f.Owner, f.Repo = r.Host, r.Owner, r.Repo
			}
		}
		if f.Host == "" && len(f.Hosts) > 0 {
			f.Host = f.Hosts[0]
		}
	case uiField == "EntityPicker" || uiField == "OwnerPicker" || uiField == "MyGroupsPicker" || uiField == "OwnedEntityPicker":
		f.Widget = "picker"
		f.Value = f.Display
		kinds := pickerKinds(uiField, opts)
		for _, k := range kinds {
			f.Datalist = append(f.Datalist, c.pickerRefs(ctx, k)...)
		}
		sort.Strings(f.Datalist)
	case len(asList(s["enum"])) > 0:
		f.Widget = "select"
		names := asList(s["enumNames"])
		for i, e := range asList(s["enum"]) {
			ev := displayValue(e)
			label := ev
			if i < len(names) {
				label = displayValue(names[i])
			}
			f.Enum = append(f.Enum, enumOption{Value: ev, Label: label, Selected: ev == f.Display})
		}
	case f.Type == "boolean":
		f.Widget = "checkbox"
		f.Checked = val == true
	case f.Type == "number" || f.Type == "integer":
		f.Widget = "number"
		f.Value = f.Display
	case f.Type == "array":
		f.Widget = "lines"
		if l, ok := val.([]any); ok {
			var lines []string
			for _, e := range l {
				lines = append(lines, displayValue(e))
			}
			f.Value = strings.Join(lines, "\n")
		}
	case uiWidget == "textarea":
		f.Widget = "textarea"
		f.Value = f.Display
	case uiWidget == "password":
		f.Widget = "password"
	default:
		f.Widget = "text"
		f.Value = f.Display
	}
	return f
}

func pickerKinds(field string, opts map[string]any) []string {
	var kinds []string
	if cf, ok := opts["catalogFilter"].(map[string]any); ok {
		switch k := cf["kind"].(type) {
		case string:
			kinds = append(kinds, k)
		case []any:
			for _, e := range k {
				if s, ok := e.(string); ok {
					kinds = append(kinds, s)
				}
			}
		}
	}
	for _, k := range asList(opts["allowedKinds"]) {
		if s, ok := k.(string); ok {
			kinds = append(kinds, s)
		}
	}
	if len(kinds) == 0 {
		if field == "OwnerPicker" || field == "MyGroupsPicker" {
			kinds = []string{"Group", "User"}
		} else {
			kinds = []string{"Component"}
		}
	}
	return kinds
}

const maxPickerOptions = 500

func (c *CreatePages) pickerRefs(ctx context.Context, kind string) []string {
	if c.pickers == nil {
		return nil
	}
	raws, err := c.pickers.Entities(ctx, kind)
	if err != nil {
		return nil
	}
	var out []string
	for _, raw := range raws {
		var e struct {
			Kind     string                           `json:"kind"`
			Metadata struct{ Name, Namespace string } `json:"metadata"`
		}
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		ns := or(e.Metadata.Namespace, "default")
		out = append(out, strings.ToLower(e.Kind)+":"+ns+"/"+e.Metadata.Name)
		if len(out) >= maxPickerOptions {
			break
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

func idSafe(s string) string { return idUnsafe.ReplaceAllString(s, "_") }

func displayValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// formValues reads the submitted form into typed values, with an error per
// field that cannot be read.
func formValues(t *scaffolder.Template, form url.Values) (map[string]any, map[string]string) {
	values := map[string]any{}
	errs := map[string]string{}
	for _, p := range t.Parameters {
		props, _ := p.Schema["properties"].(map[string]any)
		for name, raw := range props {
			s, _ := raw.(map[string]any)
			key := "p." + name
			typ := str(s["type"])
			if str(s["ui:field"]) == "RepoUrlPicker" {
				host, owner, repo := strings.TrimSpace(form.Get(key+".host")), strings.TrimSpace(form.Get(key+".owner")), strings.TrimSpace(form.Get(key+".repo"))
				if host == "" && owner == "" && repo == "" {
					continue
				}
				if host == "" || owner == "" || repo == "" {
					errs[name] = "Give the host, the owner and the repository name."
					continue
				}
				values[name] = host + "?owner=" + url.QueryEscape(owner) + "&repo=" + url.QueryEscape(repo)
				continue
			}
			switch typ {
			case "boolean":
				values[name] = form.Get(key) == "on" || form.Get(key) == "true"
			case "number", "integer":
				v := strings.TrimSpace(form.Get(key))
				if v == "" {
					continue
				}
				n, err := strconv.ParseFloat(v, 64)
				if err != nil || (typ == "integer" && n != float64(int64(n))) {
					errs[name] = "Enter a " + map[bool]string{true: "whole number", false: "number"}[typ == "integer"] + "."
					continue
				}
				values[name] = n
			case "array":
				var list []any
				for _, line := range strings.Split(form.Get(key), "\n") {
					if line = strings.TrimSpace(line); line != "" {
						list = append(list, line)
					}
				}
				if len(list) > 0 {
					values[name] = list
				}
			default:
				if v := form.Get(key); v != "" {
					if utf8.RuneCountInString(v) > 10000 {
						errs[name] = "This value is too long."
						continue
					}
					values[name] = v
				}
			}
		}
	}
	return values, errs
}

var instanceLoc = regexp.MustCompile(`/([A-Za-z0-9_$-]+): ([^;]+)`)
var missingProp = regexp.MustCompile(`missing propert(?:y|ies) '([^']+)'`)

// schemaFieldErrors turns a ValidateValues error into per-field messages.
func schemaFieldErrors(t *scaffolder.Template, err error) map[string]string {
	errs := map[string]string{}
	msg := greenroom.ErrorMessage(err)
	for _, m := range missingProp.FindAllStringSubmatch(msg, -1) {
		for _, name := range strings.Split(m[1], "', '") {
			errs[name] = "This field is required."
		}
	}
	for _, m := range instanceLoc.FindAllStringSubmatch(msg, -1) {
		if _, ok := errs[m[1]]; !ok {
			errs[m[1]] = strings.TrimSpace(m[2])
		}
	}
	if len(errs) == 0 {
		errs[""] = msg
	}
	return errs
}

func entityYAML(ent map[string]any) string {
	clean := map[string]any{}
	for k, v := range ent {
		if k == "relations" || k == "status" {
			continue
		}
		clean[k] = v
	}
	if md, ok := clean["metadata"].(map[string]any); ok {
		m := map[string]any{}
		for k, v := range md {
			if k != "uid" && k != "etag" && k != "generation" {
				m[k] = v
			}
		}
		clean["metadata"] = m
	}
	b, err := yaml.MarshalWithOptions(clean, yaml.IndentSequence(true))
	if err != nil {
		return ""
	}
	return string(b)
}

func parseEditorInput(tmplYAML, valuesYAML string) ([]byte, map[string]any, map[string]any, error) {
	if len(tmplYAML) > maxEditorTemplate {
		return nil, nil, nil, greenroom.Errorf(greenroom.CodeInvalid, "the template is larger than %d bytes", maxEditorTemplate)
	}
	var ent map[string]any
	if err := yaml.Unmarshal([]byte(tmplYAML), &ent); err != nil || ent == nil {
		return nil, nil, nil, greenroom.Errorf(greenroom.CodeInvalid, "template: not a YAML mapping: %v", err)
	}
	values := map[string]any{}
	if strings.TrimSpace(valuesYAML) != "" {
		if err := yaml.Unmarshal([]byte(valuesYAML), &values); err != nil {
			return nil, nil, nil, greenroom.Errorf(greenroom.CodeInvalid, "values: not a YAML mapping: %v", err)
		}
	}
	raw, err := json.Marshal(ent)
	if err != nil {
		return nil, nil, nil, greenroom.Errorf(greenroom.CodeInvalid, "template: %v", err)
	}
	var jent map[string]any
	_ = json.Unmarshal(raw, &jent)
	vb, _ := json.Marshal(values)
	var jvalues map[string]any
	_ = json.Unmarshal(vb, &jvalues)
	return raw, jent, jvalues, nil
}

const maxEditorFileShown = 64 << 10

func editorFiles(files []scaffolder.File) []editorFile {
	var out []editorFile
	for _, f := range files {
		b, err := base64.StdEncoding.DecodeString(f.Base64Content)
		if err != nil {
			continue
		}
		ef := editorFile{Path: f.Path}
		if !utf8.Valid(b) || strings.ContainsRune(string(b), 0) {
			ef.Binary = true
		} else {
			if len(b) > maxEditorFileShown {
				b = append(b[:maxEditorFileShown], []byte("\n… (cut)")...)
			}
			ef.Content = string(b)
		}
		out = append(out, ef)
	}
	return out
}
