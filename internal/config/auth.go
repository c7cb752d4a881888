package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"greenroom/internal/catalog/entity"
)

// Auth is backend.auth. Greenroom reads its externalAccess list; the other
// Backstage keys there (keys, pluginKeyStore, …) are accepted and ignored.
type Auth struct {
	// ExternalAccess lists the credentials of callers outside Greenroom,
	// Backstage's backend.auth.externalAccess. Only static tokens are
	// used; entries of other types (legacy, jwks) are kept with their Type
	// and a warning, and never match a token.
	ExternalAccess []ExternalAccess
}

// ExternalAccess is one backend.auth.externalAccess entry.
type ExternalAccess struct {
	Type string // "static"; legacy and jwks are Backstage types Greenroom ignores
	// Token is options.token: the bearer token callers send, at least 8
	// non-space characters.
	Token Secret
	// Subject is options.subject: who the caller is, for logs and audit.
	Subject string
	// AccessRestrictions narrow what the token may do; none means anything.
	AccessRestrictions []AccessRestriction
	// File and Line are where the entry was declared, for messages.
	File string
	Line int
	at   int // 1 + the index in the file's list, for problem paths; 0 when built in code
}

// AccessRestriction is one entry of accessRestrictions: the token may be
// used for Plugin, and when Permissions or Actions are set, only for those
// permission names and permission actions (create, read, update, delete).
type AccessRestriction struct {
	Plugin      string
	Permissions []string
	Actions     []string
	at          int // as ExternalAccess.at
}

// MinStaticTokenLength is Backstage's lower bound on a static token.
const MinStaticTokenLength = 8

// CatalogRule is one entry of catalog.rules: Backstage's global catalog
// rules.
type CatalogRule struct {
	Allow []CatalogRuleAllow
	// Locations limits the rule; nil means every location.
	Locations []CatalogRuleLocation
	at        int // as ExternalAccess.at
}

// CatalogRuleAllow is one allow entry: a kind, optionally with spec.type
// (written as {kind: Resource, spec.type: database}).
type CatalogRuleAllow struct {
	Kind     string
	SpecType string
}

// CatalogRuleLocation is one entry of a rule's locations: a type and an
// exact target or a glob pattern (or neither, for every target of the
// type).
type CatalogRuleLocation struct {
	Type    string
	Exact   string
	Pattern string
	at      int // as ExternalAccess.at
}

// GreenroomCatalog is greenroom.catalog, Greenroom's own catalog settings.
type GreenroomCatalog struct {
	// CustomKinds are entity kinds beyond Backstage's built-in ones.
	CustomKinds []CustomKind
}

// CustomKind is one greenroom.catalog.customKinds entry: a kind and
// apiVersion with the JSON Schema its entities (or their spec) must
// follow, see entity.CustomKind.
type CustomKind struct {
	APIVersion string
	Kind       string
	// Schema is the JSON Schema as JSON: written inline in YAML, or read
	// with $file (a JSON or YAML file). Nil admits any spec.
	Schema []byte
	at     int // as ExternalAccess.at
}

// EntityKinds returns the custom kinds in the form the catalog takes.
func (g GreenroomCatalog) EntityKinds() []entity.CustomKind {
	out := make([]entity.CustomKind, len(g.CustomKinds))
	for i, k := range g.CustomKinds {
		out[i] = entity.CustomKind{APIVersion: k.APIVersion, Kind: k.Kind, Schema: k.Schema}
	}
	return out
}

// maxCustomKinds bounds greenroom.catalog.customKinds; each compiles a schema.
const maxCustomKinds = 200

// auth reads backend.auth.
func (d *decoder) auth(n *node, dst *Auth) {
	a := d.mapping(n, "backend.auth")
	if a == nil {
		return
	}
	ea := a.get("externalAccess")
	if !set(ea) {
		return
	}
	const path = "backend.auth.externalAccess"
	if ea.kind != kindSeq {
		d.ps.expected(ea.pos, path, "a list of {type, options}", ea)
		return
	}
	for i, it := range ea.items {
		p := indexPath(path, i)
		if it.kind != kindMap {
			d.ps.expected(it.pos, p, "a mapping with type and options", it)
			continue
		}
		e := ExternalAccess{File: it.pos.file, Line: it.pos.line, at: i + 1}
		if !d.required(it, p, "type") || !d.str(it.get("type"), p+".type", &e.Type) {
			continue
		}
		if e.Type != "static" {
			if e.Type != "legacy" && e.Type != "jwks" {
				d.ps.expected(it.get("type").pos, p+".type", "one of static, legacy, jwks", it.get("type"))
				continue
			}
			d.ps.add(SeverityWarning, it.get("type").pos, p+".type", "externalAccess type "+e.Type+" is not supported by Greenroom; only static tokens are accepted, so this entry matches no request")
			dst.ExternalAccess = append(dst.ExternalAccess, e)
			continue
		}
		opts := d.mapping(it.get("options"), p+".options")
		if opts == nil {
			d.required(it, p, "options")
			continue
		}
		var token string
		ok := d.required(opts, p+".options", "token") && d.str(opts.get("token"), p+".options.token", &token)
		ok = d.required(opts, p+".options", "subject") && d.str(opts.get("subject"), p+".options.subject", &e.Subject) && ok
		e.Token = Secret(token)
		e.AccessRestrictions = d.accessRestrictions(it.get("accessRestrictions"), p+".accessRestrictions")
		if ok {
			dst.ExternalAccess = append(dst.ExternalAccess, e)
		}
	}
}

func (d *decoder) accessRestrictions(n *node, path string) []AccessRestriction {
	if !set(n) {
		return nil
	}
	if n.kind != kindSeq {
		d.ps.expected(n.pos, path, "a list of {plugin, permission, permissionAttribute}", n)
		return nil
	}
	var out []AccessRestriction
	for i, it := range n.items {
		p := indexPath(path, i)
		if it.kind != kindMap {
			d.ps.expected(it.pos, p, "a mapping with plugin", it)
			continue
		}
		r := AccessRestriction{at: i + 1}
		if !d.required(it, p, "plugin") || !d.str(it.get("plugin"), p+".plugin", &r.Plugin) {
			continue
		}
		r.Permissions = d.stringOrList(it.get("permission"), p+".permission")
		if attr := d.mapping(it.get("permissionAttribute"), p+".permissionAttribute"); attr != nil {
			r.Actions = d.stringOrList(attr.get("action"), p+".permissionAttribute.action")
		}
		out = append(out, r)
	}
	return out
}

// stringOrList reads Backstage's "string or list of strings" values, each
// split at commas and spaces, duplicates removed.
func (d *decoder) stringOrList(n *node, path string) []string {
	if !set(n) {
		return nil
	}
	var raw []string
	switch n.kind {
	case kindString:
		raw = []string{n.s}
	case kindSeq:
		for i, it := range n.items {
			if it.kind != kindString {
				d.ps.expected(it.pos, indexPath(path, i), "a string", it)
				continue
			}
			raw = append(raw, it.s)
		}
	default:
		d.ps.expected(n.pos, path, "a string or a list of strings", n)
		return nil
	}
	var out []string
	for _, s := range raw {
		for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// catalogRules reads catalog.rules. Present (even as an empty list), it
// replaces Backstage's default rules.
func (d *decoder) catalogRules(n *node, dst *Catalog) {
	if !set(n) {
		return
	}
	const path = "catalog.rules"
	if n.kind != kindSeq {
		d.ps.expected(n.pos, path, "a list of {allow: [kinds], locations}", n)
		return
	}
	dst.RulesSet = true
	dst.Rules = []CatalogRule{}
	for i, it := range n.items {
		p := indexPath(path, i)
		if it.kind != kindMap {
			d.ps.expected(it.pos, p, "a mapping with allow", it)
			continue
		}
		allow := it.get("allow")
		if !set(allow) || allow.kind != kindSeq {
			d.ps.expected(it.pos, p+".allow", "a list of entity kinds, or of {kind, spec.type}", allow)
			continue
		}
		r := CatalogRule{at: i + 1}
		for j, a := range allow.items {
			ap := indexPath(p+".allow", j)
			switch {
			case a.kind == kindString && a.s != "":
				r.Allow = append(r.Allow, CatalogRuleAllow{Kind: a.s})
			case a.kind == kindMap:
				var ra CatalogRuleAllow
				if d.required(a, ap, "kind") && d.str(a.get("kind"), ap+".kind", &ra.Kind) {
					d.str(a.get("spec.type"), ap+".spec.type", &ra.SpecType)
					r.Allow = append(r.Allow, ra)
				}
			default:
				d.ps.expected(a.pos, ap, "an entity kind such as Component, or {kind, spec.type}", a)
			}
		}
		if locs := it.get("locations"); set(locs) {
			r.Locations = d.ruleLocations(locs, p+".locations")
		}
		dst.Rules = append(dst.Rules, r)
	}
}

func (d *decoder) ruleLocations(n *node, path string) []CatalogRuleLocation {
	if n.kind != kindSeq {
		d.ps.expected(n.pos, path, "a list of {type, exact or pattern}", n)
		return []CatalogRuleLocation{}
	}
	out := []CatalogRuleLocation{}
	for i, it := range n.items {
		p := indexPath(path, i)
		if it.kind != kindMap {
			d.ps.expected(it.pos, p, "a mapping with type and exact or pattern", it)
			continue
		}
		l := CatalogRuleLocation{at: i + 1}
		if !d.required(it, p, "type") || !d.str(it.get("type"), p+".type", &l.Type) {
			continue
		}
		d.str(it.get("exact"), p+".exact", &l.Exact)
		d.str(it.get("pattern"), p+".pattern", &l.Pattern)
		out = append(out, l)
	}
	return out
}

// greenroomCatalog reads greenroom.catalog.
func (d *decoder) greenroomCatalog(n *node, dst *GreenroomCatalog) {
	c := d.mapping(n, "greenroom.catalog")
	if c == nil {
		return
	}
	kinds := c.get("customKinds")
	if !set(kinds) {
		return
	}
	const path = "greenroom.catalog.customKinds"
	if kinds.kind != kindSeq {
		d.ps.expected(kinds.pos, path, "a list of {apiVersion, kind, schema}", kinds)
		return
	}
	if len(kinds.items) > maxCustomKinds {
		d.ps.add(SeverityError, kinds.pos, path, fmt.Sprintf("at most %d custom kinds, got %d", maxCustomKinds, len(kinds.items)))
		return
	}
	for i, it := range kinds.items {
		p := indexPath(path, i)
		if it.kind != kindMap {
			d.ps.expected(it.pos, p, "a mapping with apiVersion, kind and schema", it)
			continue
		}
		k := CustomKind{at: i + 1}
		ok := d.required(it, p, "apiVersion") && d.str(it.get("apiVersion"), p+".apiVersion", &k.APIVersion)
		ok = d.required(it, p, "kind") && d.str(it.get("kind"), p+".kind", &k.Kind) && ok
		if s := it.get("schema"); set(s) {
			schema, err := schemaJSON(s)
			if err != nil {
				d.ps.add(SeverityError, s.pos, p+".schema", err.Error())
				ok = false
			}
			k.Schema = schema
		}
		if ok {
			dst.CustomKinds = append(dst.CustomKinds, k)
		}
	}
}

// schemaJSON turns a schema value into JSON: a mapping written in the
// config, or the text of a JSON or YAML file brought in with $file.
func schemaJSON(n *node) ([]byte, error) {
	switch n.kind {
	case kindMap:
		return json.Marshal(n.toAny())
	case kindString:
		text := []byte(n.s)
		if json.Valid(text) {
			return text, nil
		}
		var v any
		if err := yaml.Unmarshal(text, &v); err != nil {
			return nil, fmt.Errorf("expected a JSON Schema: a mapping, or the text of a JSON or YAML file ($file): %v", firstLine(err.Error()))
		}
		if _, ok := v.(map[string]any); !ok {
			return nil, fmt.Errorf("expected a JSON Schema: a mapping, or the text of a JSON or YAML file ($file), got text that is not a mapping")
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("schema: %v", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("expected a JSON Schema: a mapping, or the text of a JSON or YAML file ($file), got %s", n.describe())
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// authProblems checks the static tokens as Backstage's StaticTokenHandler
// does, the access restrictions, the catalog rules and the custom kinds.
func (c *Config) authProblems() []Problem {
	var ps []Problem
	add := func(path, msg string) { ps = append(ps, Problem{Severity: SeverityError, Path: path, Message: msg}) }
	seen := map[Secret]int{}
	for i, e := range c.Backend.Auth.ExternalAccess {
		p := indexPath("backend.auth.externalAccess", index(e.at, i))
		if e.Type != "static" {
			continue
		}
		tok := e.Token.Reveal()
		switch {
		case tok == "" || strings.ContainsAny(tok, " \t\r\n\v\f"):
			add(p+".options.token", "Illegal token, must be a set of non-space characters")
		case len(tok) < MinStaticTokenLength:
			add(p+".options.token", fmt.Sprintf("Illegal token, must be at least %d characters length", MinStaticTokenLength))
		}
		if j, dup := seen[e.Token]; dup && tok != "" {
			add(p+".options.token", fmt.Sprintf("Static externalAccess token was declared more than once (also at backend.auth.externalAccess[%d])", j))
		} else {
			seen[e.Token] = index(e.at, i)
		}
		if e.Subject == "" || strings.ContainsAny(e.Subject, " \t\r\n\v\f") {
			add(p+".options.subject", "Illegal subject, must be a set of non-space characters")
		}
		plugins := map[string]bool{}
		for j, r := range e.AccessRestrictions {
			rp := indexPath(p+".accessRestrictions", index(r.at, j))
			if plugins[r.Plugin] {
				add(rp+".plugin", fmt.Sprintf("Attempted to declare 'accessRestrictions' twice for plugin '%s', which is not permitted", r.Plugin))
			}
			plugins[r.Plugin] = true
			for _, a := range r.Actions {
				if !slices.Contains([]string{"create", "read", "update", "delete"}, a) {
					add(rp+".permissionAttribute.action", fmt.Sprintf("Invalid value '%s' in 'permissionAttributes' config, valid values are 'create', 'read', 'update', 'delete'", a))
				}
			}
		}
	}
	for i, r := range c.Catalog.Rules {
		for j, l := range r.Locations {
			if l.Exact != "" && l.Pattern != "" {
				add(indexPath(indexPath("catalog.rules", index(r.at, i))+".locations", index(l.at, j)), "A catalog rule location cannot have both exact and pattern values")
			}
		}
	}
	kinds := map[string]bool{}
	for i, k := range c.Greenroom.Catalog.CustomKinds {
		p := indexPath("greenroom.catalog.customKinds", index(k.at, i))
		key := k.Kind + " " + k.APIVersion
		if kinds[key] {
			add(p, fmt.Sprintf("custom kind %s (%s) is declared twice", k.Kind, k.APIVersion))
			continue
		}
		kinds[key] = true
		if _, err := entity.NewValidator(entity.CustomKind{APIVersion: k.APIVersion, Kind: k.Kind, Schema: k.Schema}); err != nil {
			add(p, oneLine(strings.TrimPrefix(err.Error(), "entity: ")))
		}
	}
	return ps
}

// index is the list index for a problem path: where the entry was in the
// file when it was loaded, else its index in the typed list.
func index(at, i int) int {
	if at > 0 {
		return at - 1
	}
	return i
}

// oneLine joins a multi-line message (a schema compiler's) so that each
// problem stays one line.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimLeft(strings.TrimSpace(l), "- ")
	}
	return strings.Join(lines, "; ")
}
