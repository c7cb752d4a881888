package config

import (
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
)

// Dump writes the merged configuration as YAML: the tree Load built, with
// the typed keys the files left unset filled with their defaults (for a
// config built in code, the typed keys alone). Secrets are redacted: the
// value of every key whose name contains password, secret, token,
// privateKey, clientSecret, apiKey, credentials or authorization, in any
// case (unless the value is a boolean, as in backend.cors.credentials), the
// password of every URL, password=... in connection strings, and PEM private
// keys all become "<redacted>".
func (c *Config) Dump(w io.Writer) error {
	tree := redact(fillDefaults(c.raw, c.typedTree()))
	out, err := yaml.MarshalWithOptions(toYAML(tree), yaml.IndentSequence(true))
	if err != nil {
		return fmt.Errorf("config: dump: %w", err)
	}
	if _, err := io.WriteString(w, "# Greenroom configuration, merged, with defaults; secrets redacted.\n"); err != nil {
		return fmt.Errorf("config: dump: %w", err)
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("config: dump: %w", err)
	}
	return nil
}

// fillDefaults returns tree with the values of defaults that tree lacks
// added, recursively into mappings both have; tree's values and key order
// win. Neither input is modified.
func fillDefaults(tree, defaults *node) *node {
	if tree == nil {
		return defaults
	}
	if defaults == nil || tree.kind != kindMap || defaults.kind != kindMap {
		return tree
	}
	out := newMap(tree.pos)
	for _, k := range tree.keys {
		v := tree.vals[k]
		if d := defaults.vals[k]; d != nil && v.kind == kindNull {
			v = d // null counts as not set
		}
		out.set(k, fillDefaults(v, defaults.vals[k]))
	}
	for _, k := range defaults.keys {
		if out.get(k) == nil {
			out.set(k, defaults.vals[k])
		}
	}
	return out
}

// typedTree renders the typed keys as a tree, leaving out zero values.
func (c *Config) typedTree() *node {
	t := &treeBuilder{root: newMap(pos{})}
	t.str("app.baseUrl", c.App.BaseURL)
	t.str("app.title", c.App.Title)
	t.str("backend.baseUrl", c.Backend.BaseURL)
	t.str("backend.listen.host", c.Backend.Listen.Host)
	t.int("backend.listen.port", int64(c.Backend.Listen.Port))
	c.Backend.TrustProxy.dump(t)
	db := c.Backend.Database
	t.str("backend.database.client", db.Client)
	if db.Connection.DSN != "" {
		t.str("backend.database.connection", db.Connection.DSN.Reveal())
	}
	t.str("backend.database.connection.host", db.Connection.Host)
	t.int("backend.database.connection.port", int64(db.Connection.Port))
	t.str("backend.database.connection.user", db.Connection.User)
	t.str("backend.database.connection.password", db.Connection.Password.Reveal())
	t.str("backend.database.connection.database", db.Connection.Database)
	t.str("backend.database.connection.ssl", db.Connection.SSL.Mode)
	t.str("backend.database.connection.directory", db.Connection.Directory)
	t.str("backend.database.connection.filename", db.Connection.Filename)
	if len(c.Catalog.Locations) > 0 {
		locs := &node{kind: kindSeq}
		for _, l := range c.Catalog.Locations {
			m := newMap(pos{})
			m.set("type", newString(l.Type, pos{}))
			m.set("target", newString(l.Target, pos{}))
			if len(l.Rules) > 0 {
				rules := &node{kind: kindSeq}
				for _, r := range l.Rules {
					allow := &node{kind: kindSeq}
					for _, k := range r.Allow {
						allow.items = append(allow.items, newString(k, pos{}))
					}
					rm := newMap(pos{})
					rm.set("allow", allow)
					rules.items = append(rules.items, rm)
				}
				m.set("rules", rules)
			}
			locs.items = append(locs.items, m)
		}
		t.set("catalog.locations", locs)
	}
	t.str("catalog.orphanStrategy", c.Catalog.OrphanStrategy)
	if c.Catalog.ProcessingInterval > 0 {
		t.str("catalog.processingInterval", c.Catalog.ProcessingInterval.String())
	}
	g := c.Greenroom
	t.str("greenroom.dataDir", g.DataDir)
	if g.Demo != nil {
		t.set("greenroom.demo", &node{kind: kindBool, b: *g.Demo})
	}
	t.str("greenroom.log.format", g.Log.Format)
	t.str("greenroom.log.level", g.Log.Level)
	if g.Server.RequestTimeout > 0 {
		t.str("greenroom.server.requestTimeout", g.Server.RequestTimeout.String())
	}
	if g.Server.ShutdownTimeout > 0 {
		t.str("greenroom.server.shutdownTimeout", g.Server.ShutdownTimeout.String())
	}
	t.int("greenroom.server.maxBodyBytes", g.Server.MaxBodyBytes)
	// 0 (no limit) is a setting of its own, not the default: keep it.
	t.set("greenroom.server.memoryLimitBytes", &node{kind: kindInt, i: g.Server.MemoryLimitBytes})
	if g.Database.ConnectTimeout > 0 {
		t.str("greenroom.database.connectTimeout", g.Database.ConnectTimeout.String())
	}
	return t.root
}

type treeBuilder struct{ root *node }

// set puts v at a dotted path, creating mappings on the way; it does nothing
// when a value on the way is not a mapping.
func (t *treeBuilder) set(path string, v *node) {
	parts := strings.Split(path, ".")
	cur := t.root
	for _, p := range parts[:len(parts)-1] {
		next := cur.get(p)
		if next == nil {
			next = newMap(pos{})
			cur.set(p, next)
		}
		if next.kind != kindMap {
			return
		}
		cur = next
	}
	cur.set(parts[len(parts)-1], v)
}

func (t *treeBuilder) str(path, s string) {
	if s != "" {
		t.set(path, newString(s, pos{}))
	}
}

func (t *treeBuilder) int(path string, i int64) {
	if i != 0 {
		t.set(path, &node{kind: kindInt, i: i})
	}
}

// isSecretKey reports whether a key's name says its value is a secret.
func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "secret", "token", "privatekey", "clientsecret", "apikey", "credentials", "authorization", "passphrase"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// redact returns a copy of n with secrets replaced.
func redact(n *node) *node {
	if n == nil {
		return nil
	}
	kvPassword := regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)
	var walk func(n *node) *node
	walk = func(n *node) *node {
		switch n.kind {
		case kindMap:
			out := newMap(n.pos)
			for _, k := range n.keys {
				v := n.vals[k]
				if isSecretKey(k) && v.kind != kindNull && v.kind != kindBool {
					out.set(k, newString(redacted, v.pos))
					continue
				}
				out.set(k, walk(v))
			}
			return out
		case kindSeq:
			out := &node{kind: kindSeq, pos: n.pos, items: make([]*node, len(n.items))}
			for i, it := range n.items {
				out.items[i] = walk(it)
			}
			return out
		case kindString:
			return newString(redactString(n.s, kvPassword), n.pos)
		}
		return n
	}
	return walk(n)
}

// redactString hides URL passwords, key=value passwords and PEM private keys.
func redactString(s string, kvPassword *regexp.Regexp) string {
	if strings.Contains(s, "PRIVATE KEY") {
		return redacted
	}
	if strings.Contains(s, "://") && strings.Contains(s, "@") {
		u, err := url.Parse(s)
		switch {
		case err == nil && u.User != nil:
			if _, has := u.User.Password(); has {
				const mark = "REDACTEDPASSWORDMARK"
				u.User = url.UserPassword(u.User.Username(), mark)
				s = strings.Replace(u.String(), mark, redacted, 1)
			}
		case err != nil:
			// Unparseable, perhaps because the password holds an unescaped
			// '@' or '/': hide everything between "user:" and the last '@'.
			i := strings.Index(s, "://") + 3
			at := strings.LastIndexByte(s, '@')
			if c := strings.IndexByte(s[i:], ':'); at > i && c >= 0 && i+c < at {
				s = s[:i+c+1] + redacted + s[at:]
			}
		}
	}
	if strings.Contains(strings.ToLower(s), "password") {
		s = kvPassword.ReplaceAllString(s, "${1}"+redacted)
	}
	return s
}

// toYAML converts a tree to values goccy/go-yaml encodes in key order.
func toYAML(n *node) any {
	switch n.kind {
	case kindMap:
		ms := make(yaml.MapSlice, 0, len(n.keys))
		for _, k := range n.keys {
			ms = append(ms, yaml.MapItem{Key: k, Value: toYAML(n.vals[k])})
		}
		return ms
	case kindSeq:
		s := make([]any, len(n.items))
		for i, it := range n.items {
			s[i] = toYAML(it)
		}
		return s
	}
	return n.toAny()
}
