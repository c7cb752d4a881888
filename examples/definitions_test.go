package examples_test

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

// checkDefinitions: every API definition is a document of its spec.type
// with its identifying header, and every local $ref in an OpenAPI or
// AsyncAPI document points at something that exists.
func checkDefinitions(c *catalog) []error {
	var errs []error
	for _, e := range c.entities {
		if e.Kind != "API" {
			continue
		}
		text := str(e.Spec["definition"])
		if t := textTarget(e.Spec["definition"]); t != "" {
			p, err := resolve(e.file, t)
			if err != nil {
				continue // load reports it
			}
			data, err := fs.ReadFile(c.fsys, p)
			if err != nil {
				continue // checkFiles reports it
			}
			text = string(data)
		}
		for _, err := range checkDefinition(str(e.Spec["type"]), text) {
			errs = append(errs, fmt.Errorf("%v: definition: %w", e, err))
		}
	}
	return errs
}

func checkDefinition(typ, text string) []error {
	switch typ {
	case "openapi", "asyncapi":
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			return []error{err}
		}
		var errs []error
		version := str(doc[typ])
		switch {
		case typ == "openapi" && version == "" && str(doc["swagger"]) == "2.0":
			// Swagger 2.0, which Backstage's openapi type also covers.
		case typ == "openapi" && !strings.HasPrefix(version, "3."),
			typ == "asyncapi" && !strings.HasPrefix(version, "2.") && !strings.HasPrefix(version, "3."):
			errs = append(errs, fmt.Errorf("no %s version field, or an unknown version %q", typ, version))
		}
		info, _ := doc["info"].(map[string]any)
		if str(info["title"]) == "" || str(info["version"]) == "" {
			errs = append(errs, errors.New("info.title and info.version are required"))
		}
		body := []string{"paths", "webhooks"}
		if typ == "asyncapi" {
			body = []string{"channels"}
		}
		if !slices.ContainsFunc(body, func(k string) bool { m, _ := doc[k].(map[string]any); return len(m) > 0 }) {
			errs = append(errs, fmt.Errorf("none of %v is present", body))
		}
		for _, r := range localRefs(doc) {
			if !pointerResolves(doc, r) {
				errs = append(errs, fmt.Errorf("$ref %q does not resolve", r))
			}
		}
		return errs
	case "graphql":
		if !regexp.MustCompile(`(?m)^type Query \{`).MatchString(text) || !balanced(text) {
			return []error{errors.New("not a GraphQL SDL with a Query type and balanced braces")}
		}
	case "grpc":
		if !strings.Contains(text, `syntax = "proto3";`) || !regexp.MustCompile(`(?m)^service \w+ \{`).MatchString(text) || !balanced(text) {
			return []error{errors.New("not a proto3 file with a service and balanced braces")}
		}
	}
	return nil
}

// localRefs returns every "$ref": "#/..." in v.
func localRefs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if r, ok := v["$ref"].(string); ok && strings.HasPrefix(r, "#/") {
			out = append(out, r)
		}
		for _, k := range sortedKeys(v) {
			out = append(out, localRefs(v[k])...)
		}
	case []any:
		for _, x := range v {
			out = append(out, localRefs(x)...)
		}
	}
	return out
}

// pointerResolves reports whether the JSON pointer fragment r ("#/a/b")
// names a node of doc.
func pointerResolves(doc any, r string) bool {
	cur := doc
	for tok := range strings.SplitSeq(strings.TrimPrefix(r, "#/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[tok]; !ok {
			return false
		}
	}
	return true
}

func balanced(s string) bool {
	depth := 0
	for _, r := range s {
		switch r {
		case '{':
			depth++
		case '}':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}
