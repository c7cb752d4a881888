package apidocs

import (
	"cmp"
	"errors"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// maxGraphQLTokens bounds the tokens of a GraphQL schema; gqlparser
// bounds the nesting itself.
const maxGraphQLTokens = 1_000_000

var kindOrder = map[ast.DefinitionKind]int{ast.Object: 0, ast.Interface: 1, ast.Union: 2, ast.Enum: 3, ast.InputObject: 4, ast.Scalar: 5}

var kindWord = map[ast.DefinitionKind]string{
	ast.Object: "type", ast.Interface: "interface", ast.Union: "union", ast.Enum: "enum", ast.InputObject: "input", ast.Scalar: "scalar",
}

// readGraphQL reads a GraphQL schema in SDL. It checks the syntax only: a
// schema that names types defined elsewhere still reads, and those names
// are shown without links.
func readGraphQL(def string, ids *anchors) (*Document, error) {
	if len(def) > MaxDefinitionBytes {
		return nil, &Error{Message: "the definition is larger than the limit of this viewer"}
	}
	sd, err := parser.ParseSchemasWithLimit(maxGraphQLTokens, &ast.Source{Name: "definition", Input: def})
	if err != nil {
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			e := &Error{Message: ge.Message}
			if len(ge.Locations) > 0 {
				e.Line, e.Column = ge.Locations[0].Line, ge.Locations[0].Column
			}
			return nil, e
		}
		return nil, &Error{Message: err.Error()}
	}

	// Definitions and their extensions, merged by name in document order.
	var order []string
	defs := map[string]*ast.Definition{}
	for _, list := range []ast.DefinitionList{sd.Definitions, sd.Extensions} {
		for _, d := range list {
			cur, ok := defs[d.Name]
			if !ok {
				c := *d
				c.Fields = slices.Clone(d.Fields)
				c.EnumValues = slices.Clone(d.EnumValues)
				c.Types = slices.Clone(d.Types)
				c.Interfaces = slices.Clone(d.Interfaces)
				defs[d.Name] = &c
				order = append(order, d.Name)
				continue
			}
			cur.Fields = append(cur.Fields, d.Fields...)
			cur.EnumValues = append(cur.EnumValues, d.EnumValues...)
			cur.Types = append(cur.Types, d.Types...)
			cur.Interfaces = append(cur.Interfaces, d.Interfaces...)
			if cur.Description == "" {
				cur.Description = d.Description
			}
		}
	}
	for _, name := range order {
		ids.get("type", name)
	}
	tr := func(t *ast.Type) TypeRef { return typeRef(t, defs, ids) }
	named := func(name string) TypeRef {
		r := TypeRef{Name: name}
		if _, ok := defs[name]; ok {
			r.Anchor = ids.get("type", name)
		}
		return r
	}

	roots := map[ast.Operation]string{ast.Query: "Query", ast.Mutation: "Mutation", ast.Subscription: "Subscription"}
	for _, list := range []ast.SchemaDefinitionList{sd.Schema, sd.SchemaExtension} {
		for _, s := range list {
			for _, ot := range s.OperationTypes {
				roots[ot.Operation] = ot.Type
			}
		}
	}
	g := &GraphQL{}
	doc := &Document{Type: "graphql", Format: "GraphQL SDL", GraphQL: g}
	if len(sd.Schema) > 0 {
		doc.Description = sd.Schema[0].Description
	}
	build := func(d *ast.Definition) GQLType {
		t := GQLType{Kind: kindWord[d.Kind], Name: d.Name, Anchor: ids.get("type", d.Name), Description: d.Description}
		for _, i := range d.Interfaces {
			t.Interfaces = append(t.Interfaces, named(i))
		}
		for _, m := range d.Types {
			t.Members = append(t.Members, named(m))
		}
		for _, f := range d.Fields {
			gf := GQLField{Name: f.Name, Description: f.Description, Type: tr(f.Type), Deprecated: deprecation(f.Directives)}
			if f.DefaultValue != nil {
				gf.Default = f.DefaultValue.String()
			}
			for _, a := range f.Arguments {
				ga := GQLField{Name: a.Name, Description: a.Description, Type: tr(a.Type), Deprecated: deprecation(a.Directives)}
				if a.DefaultValue != nil {
					ga.Default = a.DefaultValue.String()
				}
				gf.Args = append(gf.Args, ga)
			}
			t.Fields = append(t.Fields, gf)
		}
		for _, v := range d.EnumValues {
			t.EnumValues = append(t.EnumValues, EnumValue{Name: v.Name, Description: v.Description, Deprecated: deprecation(v.Directives)})
		}
		return t
	}
	rootNames := map[string]bool{}
	for op, dst := range map[ast.Operation]**GQLType{ast.Query: &g.Query, ast.Mutation: &g.Mutation, ast.Subscription: &g.Subscription} {
		if d, ok := defs[roots[op]]; ok && d.Kind == ast.Object {
			t := build(d)
			*dst = &t
			rootNames[d.Name] = true
		}
	}
	for _, name := range order {
		if !rootNames[name] {
			g.Types = append(g.Types, build(defs[name]))
		}
	}
	slices.SortStableFunc(g.Types, func(a, b GQLType) int {
		return cmp.Or(cmp.Compare(kindOrder[defs[a.Name].Kind], kindOrder[defs[b.Name].Kind]), strings.Compare(a.Name, b.Name))
	})
	if g.Query == nil && g.Mutation == nil && g.Subscription == nil && len(g.Types) == 0 {
		return nil, &Error{Line: 1, Message: "the schema defines no types"}
	}
	return doc, nil
}

// typeRef splits a type around its named type.
func typeRef(t *ast.Type, defs map[string]*ast.Definition, ids *anchors) TypeRef {
	if t == nil {
		return TypeRef{}
	}
	var r TypeRef
	if t.Elem != nil {
		r = typeRef(t.Elem, defs, ids)
		r.Prefix = "[" + r.Prefix
		r.Suffix += "]"
	} else {
		r.Name = t.NamedType
		if _, ok := defs[t.NamedType]; ok {
			r.Anchor = ids.get("type", t.NamedType)
		}
	}
	if t.NonNull {
		r.Suffix += "!"
	}
	return r
}

// deprecation returns the reason of an @deprecated directive,
// "deprecated" when it gives none, "" without one.
func deprecation(dl ast.DirectiveList) string {
	d := dl.ForName("deprecated")
	if d == nil {
		return ""
	}
	if a := d.Arguments.ForName("reason"); a != nil && a.Value != nil && a.Value.Raw != "" {
		return a.Value.Raw
	}
	return "deprecated"
}
