package apidocs

import (
	"strings"
)

// maxOperations bounds the operations one definition shows.
const maxOperations = 5000

// operationExpand is how many levels of $refs to reusable schemas an
// operation's schemas expand in place; deeper ones link to the Schemas
// section, which shows each once. Expanding more repeats the same schemas
// in every operation: a page of 200 operations grows past a megabyte.
const operationExpand = 1

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// readOpenAPI reads a Swagger 2.0 or OpenAPI 3.x document.
func readOpenAPI(root *node, ids *anchors) (*Document, error) {
	if !root.isMap() {
		return nil, errorAt(root, "an OpenAPI definition must be a mapping, got %s", kindName(root))
	}
	doc := &Document{Type: "openapi"}
	swagger := false
	switch v, s := root.get("openapi"), root.get("swagger"); {
	case v != nil:
		if !strings.HasPrefix(v.str(), "3.") {
			return nil, errorAt(v, "OpenAPI version %q: this viewer reads Swagger 2.0 and OpenAPI 3.x", v.str())
		}
		doc.Format = "OpenAPI " + v.str()
	case s != nil:
		if s.str() != "2.0" {
			return nil, errorAt(s, "Swagger version %q: this viewer reads Swagger 2.0 and OpenAPI 3.x", s.str())
		}
		doc.Format, swagger = "Swagger 2.0", true
	default:
		return nil, errorAt(root, "this is not an OpenAPI definition: it has neither an openapi nor a swagger field")
	}
	r := newReader(root, ids)
	readInfo(doc, root)

	if swagger {
		host, base := root.get("host").str(), root.get("basePath").str()
		schemes := root.get("schemes")
		if host != "" {
			list := []string{"https"}
			if schemes != nil && schemes.kind == kSeq && len(schemes.items) > 0 {
				list = list[:0]
				for _, s := range schemes.items {
					list = append(list, s.str())
				}
			}
			for _, s := range list {
				doc.Servers = append(doc.Servers, Server{URL: s + "://" + host + base, Protocol: s})
			}
		} else if base != "" {
			doc.Servers = append(doc.Servers, Server{URL: base})
		}
	} else if ss := root.get("servers"); ss != nil && ss.kind == kSeq {
		for _, s := range ss.items {
			doc.Servers = append(doc.Servers, Server{URL: s.get("url").str(), Description: text(s.get("description"))})
		}
	}

	api := &OpenAPI{}
	doc.OpenAPI = api
	if swagger {
		api.Schemas = r.collectSchemas(root.get("definitions"), "#/definitions/")
	} else {
		api.Schemas = r.collectSchemas(root.get("components").get("schemas"), "#/components/schemas/")
	}

	// Groups follow the tags list, then the order tags are first used.
	groups := map[string]int{}
	group := func(name string) *Group {
		i, ok := groups[name]
		if !ok {
			i = len(api.Groups)
			groups[name] = i
			api.Groups = append(api.Groups, Group{Name: name, Anchor: ids.get("tag", name)})
		}
		return &api.Groups[i]
	}
	if tags := root.get("tags"); tags != nil && tags.kind == kSeq {
		for _, t := range tags.items {
			if name := t.get("name").str(); name != "" {
				group(name).Description = text(t.get("description"))
			}
		}
	}
	var untagged, hooks []Operation
	global := producesOf(root, nil)
	readPaths := func(paths *node, webhook bool) {
		if !paths.isMap() {
			return
		}
		for i, path := range paths.keys {
			item, _, ok := r.deref(paths.vals[i])
			if !ok || !item.isMap() {
				continue
			}
			shared := item.get("parameters")
			for _, m := range methods {
				opNode := item.get(m)
				if !opNode.isMap() {
					continue
				}
				if api.Operations == maxOperations {
					r.note(opNode, "only the first %d operations are shown", maxOperations)
					return
				}
				api.Operations++
				op := r.operation(m, path, opNode, shared, swagger, producesOf(opNode, global))
				if webhook {
					op.Anchor = ids.get("webhook", m+" "+path)
					hooks = append(hooks, op)
					continue
				}
				op.Anchor = ids.get("op", m+" "+path)
				tags := opNode.get("tags")
				if tags == nil || tags.kind != kSeq || len(tags.items) == 0 || tags.items[0].str() == "" {
					untagged = append(untagged, op)
					continue
				}
				// An operation with several tags is shown under its first,
				// so that each has one place and one anchor.
				g := group(tags.items[0].str())
				g.Operations = append(g.Operations, op)
			}
		}
	}
	readPaths(root.get("paths"), false)
	readPaths(root.get("webhooks"), true)
	// Tags the list names but no operation uses are left out.
	kept := api.Groups[:0]
	for _, g := range api.Groups {
		if len(g.Operations) > 0 {
			kept = append(kept, g)
		}
	}
	api.Groups = kept
	if len(untagged) > 0 {
		name := "Operations"
		if len(api.Groups) > 0 {
			name = "Other operations"
		}
		api.Groups = append(api.Groups, Group{Name: name, Anchor: ids.get("tag", "\x00untagged"), Operations: untagged})
	}
	if len(hooks) > 0 {
		api.Groups = append(api.Groups, Group{Name: "Webhooks", Anchor: ids.get("tag", "\x00webhooks"), Operations: hooks})
	}
	doc.Notes = r.notes
	return doc, nil
}

func readInfo(doc *Document, root *node) {
	info := root.get("info")
	doc.Title = text(info.get("title"))
	doc.Version = info.get("version").str()
	doc.Description = text(info.get("description"))
}

// producesOf returns a Swagger 2.0 node's produces list, or def.
func producesOf(n *node, def []string) []string {
	p := n.get("produces")
	if p == nil || p.kind != kSeq {
		return def
	}
	var out []string
	for _, it := range p.items {
		out = append(out, it.str())
	}
	return out
}

func (r *reader) operation(method, path string, n, shared *node, swagger bool, produces []string) Operation {
	op := Operation{
		Method:      strings.ToUpper(method),
		Path:        path,
		OperationID: n.get("operationId").str(),
		Summary:     text(n.get("summary")),
		Description: text(n.get("description")),
		Deprecated:  n.get("deprecated").bool(),
	}
	// Path-level parameters, overridden by the operation's own of the
	// same name and place.
	var params []*node
	seen := map[string]int{}
	for _, list := range []*node{shared, n.get("parameters")} {
		if list == nil || list.kind != kSeq {
			continue
		}
		for _, p := range list.items {
			t, _, ok := r.deref(p)
			if !ok || !t.isMap() {
				continue
			}
			k := t.get("in").str() + "\x00" + t.get("name").str()
			if i, dup := seen[k]; dup {
				params[i] = t
				continue
			}
			seen[k] = len(params)
			params = append(params, t)
		}
	}
	var form *Schema
	for _, p := range params {
		in := p.get("in").str()
		switch {
		case swagger && in == "body":
			op.Body = &Body{Description: text(p.get("description")), Required: p.get("required").bool()}
			for _, ct := range consumesOr(n, []string{"application/json"}) {
				op.Body.Content = append(op.Body.Content, Media{Type: ct, Schema: r.schema(p.get("schema"), 0, operationExpand, nil)})
			}
		case swagger && in == "formData":
			if form == nil {
				form = &Schema{Type: "object"}
			}
			s := r.schema(p, 1, operationExpand, nil)
			s.Name, s.Required = p.get("name").str(), p.get("required").bool()
			form.Properties = append(form.Properties, s)
		default:
			op.Parameters = append(op.Parameters, r.parameter(p, in, swagger))
		}
	}
	if form != nil {
		op.Body = &Body{Content: []Media{{Type: consumesOr(n, []string{"application/x-www-form-urlencoded"})[0], Schema: form}}}
	}
	if rb := n.get("requestBody"); rb != nil && !swagger {
		t, _, ok := r.deref(rb)
		if ok && t.isMap() {
			op.Body = &Body{Description: text(t.get("description")), Required: t.get("required").bool(), Content: r.content(t.get("content"))}
		}
	}
	if rs := n.get("responses"); rs.isMap() {
		for i, status := range rs.keys {
			t, _, ok := r.deref(rs.vals[i])
			if !ok || !t.isMap() {
				op.Responses = append(op.Responses, Response{Status: status, Description: "(the response could not be read)"})
				continue
			}
			resp := Response{Status: status, Description: text(t.get("description"))}
			if hs := t.get("headers"); hs.isMap() {
				for j, name := range hs.keys {
					h, _, ok := r.deref(hs.vals[j])
					if !ok {
						continue
					}
					hp := r.parameter(h, "header", swagger)
					hp.Name = name
					resp.Headers = append(resp.Headers, hp)
				}
			}
			if swagger {
				if s := t.get("schema"); s != nil {
					types := produces
					if len(types) == 0 {
						types = []string{"application/json"}
					}
					for _, ct := range types {
						resp.Content = append(resp.Content, Media{Type: ct, Schema: r.schema(s, 0, operationExpand, nil)})
					}
				}
			} else {
				resp.Content = r.content(t.get("content"))
			}
			op.Responses = append(op.Responses, resp)
		}
	}
	return op
}

func consumesOr(n *node, def []string) []string {
	c := n.get("consumes")
	if c == nil || c.kind != kSeq || len(c.items) == 0 {
		return def
	}
	var out []string
	for _, it := range c.items {
		out = append(out, it.str())
	}
	return out
}

// parameter reads a parameter or header: its schema is under schema or
// content (3.x), or the parameter itself (2.0).
func (r *reader) parameter(p *node, in string, swagger bool) Parameter {
	out := Parameter{
		Name:        p.get("name").str(),
		In:          in,
		Required:    p.get("required").bool() || in == "path",
		Deprecated:  p.get("deprecated").bool(),
		Description: text(p.get("description")),
	}
	switch {
	case p.get("schema") != nil:
		out.Schema = r.schema(p.get("schema"), 1, operationExpand, nil)
	case p.get("content").isMap():
		if c := r.content(p.get("content")); len(c) > 0 {
			out.Schema = c[0].Schema
		}
	case swagger || p.get("type") != nil:
		out.Schema = r.schema(p, 1, operationExpand, nil)
		out.Schema.Description = "" // it is the parameter's
	}
	return out
}

// content reads a 3.x content map.
func (r *reader) content(c *node) []Media {
	if !c.isMap() {
		return nil
	}
	var out []Media
	for i, ct := range c.keys {
		m := c.vals[i]
		md := Media{Type: ct}
		if s := m.get("schema"); s != nil {
			md.Schema = r.schema(s, 0, operationExpand, nil)
		}
		if ex := m.get("example"); ex != nil {
			md.Example = bounded(ex.scalarText())
		}
		out = append(out, md)
	}
	return out
}
