package apidocs

import (
	"strings"
)

// messageExpand is how many levels of $refs to reusable schemas a
// message's payload expands in place.
const messageExpand = 1

var verbs = map[string]string{"publish": "Publish", "subscribe": "Subscribe", "send": "Send", "receive": "Receive"}

// readAsyncAPI reads an AsyncAPI 2.x or 3.0 document.
func readAsyncAPI(root *node, ids *anchors) (*Document, error) {
	if !root.isMap() {
		return nil, errorAt(root, "an AsyncAPI definition must be a mapping, got %s", kindName(root))
	}
	v := root.get("asyncapi")
	if v == nil {
		return nil, errorAt(root, "this is not an AsyncAPI definition: it has no asyncapi field")
	}
	version := v.str()
	v3 := strings.HasPrefix(version, "3.")
	if !v3 && !strings.HasPrefix(version, "2.") {
		return nil, errorAt(v, "AsyncAPI version %q: this viewer reads 2.x and 3.0", version)
	}
	doc := &Document{Type: "asyncapi", Format: "AsyncAPI " + version}
	readInfo(doc, root)
	r := newReader(root, ids)
	if ss := root.get("servers"); ss.isMap() {
		for i, name := range ss.keys {
			s, _, ok := r.deref(ss.vals[i])
			if !ok {
				continue
			}
			url := s.get("url").str()
			if v3 {
				url = s.get("host").str() + s.get("pathname").str()
			}
			doc.Servers = append(doc.Servers, Server{Name: name, URL: url, Protocol: s.get("protocol").str(), Description: text(s.get("description"))})
		}
	}
	api := &AsyncAPI{DefaultContentType: root.get("defaultContentType").str()}
	doc.AsyncAPI = api
	api.Schemas = r.collectSchemas(root.get("components").get("schemas"), "#/components/schemas/")

	channels := root.get("channels")
	if v3 {
		r.channels3(api, root, channels, ids)
	} else if channels.isMap() {
		for i, name := range channels.keys {
			ch, _, ok := r.deref(channels.vals[i])
			if !ok || !ch.isMap() {
				continue
			}
			c := Channel{Name: name, Address: name, Anchor: ids.get("channel", name), Description: text(ch.get("description")), Parameters: r.channelParams(ch)}
			for j, action := range ch.keys { // in the document's order
				opNode := ch.vals[j]
				if (action != "publish" && action != "subscribe") || !opNode.isMap() {
					continue
				}
				op := AsyncOperation{Action: action, Verb: verbs[action], ID: opNode.get("operationId").str(), Summary: text(opNode.get("summary")), Description: text(opNode.get("description"))}
				if m := opNode.get("message"); m != nil {
					t, _, ok := r.deref(m)
					if ok && t.get("oneOf") != nil && t.get("oneOf").kind == kSeq {
						for _, it := range t.get("oneOf").items {
							op.Messages = append(op.Messages, r.message(it, "", api.DefaultContentType))
						}
					} else {
						op.Messages = append(op.Messages, r.message(m, "", api.DefaultContentType))
					}
				}
				c.Operations = append(c.Operations, op)
				api.Operations++
			}
			api.Channels = append(api.Channels, c)
		}
	}
	doc.Notes = r.notes
	return doc, nil
}

func (r *reader) channelParams(ch *node) []Parameter {
	ps := ch.get("parameters")
	if !ps.isMap() {
		return nil
	}
	var out []Parameter
	for i, name := range ps.keys {
		p, _, ok := r.deref(ps.vals[i])
		if !ok {
			continue
		}
		par := Parameter{Name: name, In: "channel", Required: true, Description: text(p.get("description"))}
		if s := p.get("schema"); s != nil {
			par.Schema = r.schema(s, 1, messageExpand, nil)
		} else if e := p.get("enum"); e != nil || p.get("default") != nil { // 3.0 parameters are strings
			par.Schema = r.schema(p, 1, 0, nil)
			par.Schema.Type = "string"
			par.Schema.Description = ""
		}
		out = append(out, par)
	}
	return out
}

// channels3 reads 3.0's channels and operations, listing each operation
// under the channel it names.
func (r *reader) channels3(api *AsyncAPI, root, channels *node, ids *anchors) {
	byNode := map[*node]int{}
	if channels.isMap() {
		for i, id := range channels.keys {
			ch, _, ok := r.deref(channels.vals[i])
			if !ok || !ch.isMap() {
				continue
			}
			addr := id
			if a := ch.get("address"); a != nil && a.kind == kString {
				addr = a.str()
			}
			byNode[ch] = len(api.Channels)
			api.Channels = append(api.Channels, Channel{
				Name: id, Address: addr, Anchor: ids.get("channel", id), Title: text(ch.get("title")),
				Description: text(ch.get("description")), Parameters: r.channelParams(ch),
			})
		}
	}
	used := map[*node]bool{}
	ops := root.get("operations")
	if ops.isMap() {
		for i, id := range ops.keys {
			o, _, ok := r.deref(ops.vals[i])
			if !ok || !o.isMap() {
				continue
			}
			action := o.get("action").str()
			op := AsyncOperation{Action: action, Verb: verbs[action], ID: id, Title: text(o.get("title")), Summary: text(o.get("summary")), Description: text(o.get("description"))}
			if op.Verb == "" {
				r.note(o.get("action"), "operation %s: action %q must be send or receive", id, action)
				op.Verb = action
			}
			ch, _, ok := r.deref(o.get("channel"))
			ci, found := byNode[ch]
			if !ok || !found {
				r.note(o, "operation %s names no channel of this document", id)
				ci = r.unknownChannel(api, ids)
			}
			if ms := o.get("messages"); ms != nil && ms.kind == kSeq {
				for _, m := range ms.items {
					t, _, _ := r.res.deref(m)
					used[t] = true
					// Named by its key in the channel, which the $ref ends with.
					op.Messages = append(op.Messages, r.message(m, lastSegment(m.get("$ref").str()), api.DefaultContentType))
				}
			} else if ok && found { // no list: every message of the channel
				if cm := ch.get("messages"); cm.isMap() {
					for j, name := range cm.keys {
						t, _, _ := r.res.deref(cm.vals[j])
						used[t] = true
						op.Messages = append(op.Messages, r.message(cm.vals[j], name, api.DefaultContentType))
					}
				}
			}
			api.Channels[ci].Operations = append(api.Channels[ci].Operations, op)
			api.Operations++
		}
	}
	// A channel's messages that no operation carries are listed with it.
	for ch, ci := range byNode {
		cm := ch.get("messages")
		if !cm.isMap() {
			continue
		}
		for j, name := range cm.keys {
			t, _, _ := r.res.deref(cm.vals[j])
			if !used[t] {
				api.Channels[ci].Messages = append(api.Channels[ci].Messages, r.message(cm.vals[j], name, api.DefaultContentType))
			}
		}
	}
}

func (r *reader) unknownChannel(api *AsyncAPI, ids *anchors) int {
	for i, c := range api.Channels {
		if c.Name == "\x00unknown" {
			return i
		}
	}
	api.Channels = append(api.Channels, Channel{Name: "\x00unknown", Address: "(unknown channel)", Anchor: ids.get("channel", "\x00unknown")})
	return len(api.Channels) - 1
}

func lastSegment(ref string) string {
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return unescapePointer(ref[i+1:])
	}
	return ""
}

// message reads a Message Object; name is its key where it has one.
func (r *reader) message(m *node, name, defaultType string) Message {
	t, rf, ok := r.deref(m)
	if !ok {
		return Message{Name: name, Unresolved: rf.text}
	}
	if name == "" && rf.text != "" {
		name = lastSegment(rf.text)
	}
	msg := Message{
		Name:        name,
		Title:       text(t.get("title")),
		Summary:     text(t.get("summary")),
		Description: text(t.get("description")),
		ContentType: t.get("contentType").str(),
	}
	if n := t.get("name").str(); n != "" {
		msg.Name = n
	}
	if msg.ContentType == "" {
		msg.ContentType = defaultType
	}
	if p := t.get("payload"); p != nil {
		msg.Payload = r.schema(multiFormat(r, p), 0, messageExpand, nil)
	}
	if h := t.get("headers"); h != nil {
		msg.Headers = r.schema(multiFormat(r, h), 0, messageExpand, nil)
	}
	return msg
}

// multiFormat unwraps 3.0's Multi Format Schema Object {schemaFormat,
// schema}.
func multiFormat(r *reader, n *node) *node {
	t, _, ok := r.res.deref(n)
	if ok && t.get("schemaFormat") != nil && t.get("schema") != nil {
		return t.get("schema")
	}
	return n
}
