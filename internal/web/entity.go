package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/greenroom"
)

// Entity is a catalog entity as the pages read it: Backstage's JSON form
// (metadata, spec, relations, status.items) decoded once per request.
// Sections get it read-only.
type Entity struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   EntityMetadata `json:"metadata"`
	Spec       map[string]any `json:"spec"`
	Relations  []Relation     `json:"relations"`
	Status     struct {
		Items []StatusItem `json:"items"`
	} `json:"status"`
	// Raw is the entity as the catalog served it.
	Raw json.RawMessage `json:"-"`
}

// EntityMetadata is an entity's metadata block.
type EntityMetadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	UID         string            `json:"uid"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Tags        []string          `json:"tags"`
	Links       []EntityLink      `json:"links"`
}

// EntityLink is one entry of metadata.links, as written in the catalog.
type EntityLink struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	Icon  string `json:"icon"`
	Type  string `json:"type"`
}

// Relation is one stitched relation: the entity holding it relates to
// TargetRef (lowercased kind:namespace/name).
type Relation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
}

// StatusItem is one entry of status.items, such as a processing error.
type StatusItem struct {
	Type    string `json:"type"`
	Level   string `json:"level"`
	Message string `json:"message"`
	Error   struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`
}

// parseEntity decodes an entity body from the catalog. The catalog only
// serves valid entities, so a failure is an internal error.
func parseEntity(raw json.RawMessage) (*Entity, error) {
	var e Entity
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("web: decode entity: %w", err)
	}
	if e.Metadata.Namespace == "" {
		e.Metadata.Namespace = greenroom.DefaultNamespace
	}
	e.Raw = raw
	return &e, nil
}

// Ref returns the entity's reference.
func (e *Entity) Ref() greenroom.EntityRef {
	return greenroom.EntityRef{Kind: e.Kind, Namespace: e.Metadata.Namespace, Name: e.Metadata.Name}
}

// RefString returns the lowercased kind:namespace/name.
func (e *Entity) RefString() string { return e.Ref().String() }

// DisplayName is the entity's title, else its profile's display name (for
// groups and users), else its name.
func (e *Entity) DisplayName() string {
	if e.Metadata.Title != "" {
		return e.Metadata.Title
	}
	if p, ok := e.Spec["profile"].(map[string]any); ok {
		if s, _ := p["displayName"].(string); s != "" {
			return s
		}
	}
	return e.Metadata.Name
}

// Path is the entity page's URL path.
func (e *Entity) Path() string { return entityPath(e.Ref()) }

// Annotation returns the value of an annotation, "" when unset.
func (e *Entity) Annotation(key string) string { return e.Metadata.Annotations[key] }

// SpecString returns a string field of spec, "" when absent or not a
// string.
func (e *Entity) SpecString(key string) string {
	s, _ := e.Spec[key].(string)
	return s
}

// IsKind reports whether the entity is of one of kinds (case-insensitive).
func (e *Entity) IsKind(kinds ...string) bool {
	return slices.ContainsFunc(kinds, func(k string) bool { return strings.EqualFold(k, e.Kind) })
}

// RelationTargets returns the refs the entity relates to by typ, in the
// stored (sorted) order.
func (e *Entity) RelationTargets(typ string) []string {
	var out []string
	for _, r := range e.Relations {
		if r.Type == typ {
			out = append(out, r.TargetRef)
		}
	}
	return out
}

// entityPath is the URL path of an entity's page, Backstage's
// /catalog/:namespace/:kind/:name with kind and namespace lowercased as
// Backstage's entityRouteParams does.
func entityPath(r greenroom.EntityRef) string {
	ns := r.Namespace
	if ns == "" {
		ns = greenroom.DefaultNamespace
	}
	return "/catalog/" + url.PathEscape(strings.ToLower(ns)) + "/" + url.PathEscape(strings.ToLower(r.Kind)) + "/" + url.PathEscape(r.Name)
}

// refPath returns the page path of a lowercased ref string such as
// "group:default/team-a", "" when it does not parse.
func refPath(ref string) string {
	r, err := entity.ParseRefInContext(ref, "", "")
	if err != nil || r.Kind == "" {
		return ""
	}
	return entityPath(r)
}

// humanRef shortens a ref for display as Backstage's humanizeEntityRef
// does: the namespace is dropped when it is the default one, and the kind
// when it is the one the context implies.
func humanRef(ref, impliedKind string) string {
	r, err := entity.ParseRefInContext(ref, impliedKind, "")
	if err != nil {
		return ref
	}
	var b strings.Builder
	if !strings.EqualFold(r.Kind, impliedKind) {
		b.WriteString(strings.ToLower(r.Kind) + ":")
	}
	if !strings.EqualFold(r.Namespace, greenroom.DefaultNamespace) {
		b.WriteString(r.Namespace + "/")
	}
	b.WriteString(r.Name)
	return b.String()
}

// specRef resolves a shorthand reference in the entity's spec (owner,
// system, domain…) the way Backstage's processor does: missing kind is
// defaultKind, missing namespace the entity's own. It returns the
// lowercased ref, "" when the field is absent or malformed.
func (e *Entity) specRef(field, defaultKind string) string {
	s := e.SpecString(field)
	if s == "" {
		return ""
	}
	r, err := entity.ParseRefInContext(s, defaultKind, e.Metadata.Namespace)
	if err != nil {
		return ""
	}
	return r.String()
}

// safeURL returns u when it is an absolute http(s) or mailto URL, which
// are the only ones pages link to; anything else ("javascript:", "data:",
// relative paths, malformed) yields "". html/template would already
// neutralise javascript: in href, but this refuses it visibly instead.
func safeURL(u string) string {
	u = strings.TrimSpace(u)
	if len(u) > maxURLLength {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	switch strings.ToLower(p.Scheme) {
	case "http", "https":
		if p.Host == "" {
			return ""
		}
	case "mailto":
		if p.Opaque == "" {
			return ""
		}
	default:
		return ""
	}
	return p.String()
}

// maxURLLength bounds the links pages render.
const maxURLLength = 4096

// locationURL turns a location reference such as
// "url:https://github.com/org/repo/tree/main/" into a safe link target,
// "" when it is not an http(s) URL.
func locationURL(loc string) string {
	typ, target, ok := strings.Cut(loc, ":")
	if !ok || typ != "url" {
		return ""
	}
	return safeURL(target)
}

// fileLineRE finds "file:line: " at the start of a processing error
// message, as the catalog writes them.
var fileLineRE = regexp.MustCompile(`^(\S+?):(\d+): `)

// locatedMessage splits a processing error message into file, line and
// the rest; file is "" when the message is not located.
func locatedMessage(msg string) (file string, line int, rest string) {
	m := fileLineRE.FindStringSubmatchIndex(msg)
	if m == nil {
		return "", 0, msg
	}
	n, err := strconv.Atoi(msg[m[4]:m[5]])
	if err != nil {
		return "", 0, msg
	}
	return msg[m[2]:m[3]], n, msg[m[1]:]
}

// clip cuts s to at most n runes, marking the cut with an ellipsis.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}
