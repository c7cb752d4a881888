package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// decoder fills a Config from the merged tree, recording a located Problem
// for every value of the wrong type. A value that fails keeps its default.
// Null values count as not set, so "key:" with nothing after it is the same
// as leaving the key out.
type decoder struct {
	ps *problems
}

const portExpected = "an integer between 1 and 65535"

func (d *decoder) decode(root *node) *Config {
	c := Default()
	c.App.BaseURL = ""
	c.Greenroom.Demo = nil
	if app := d.section(root, "app"); app != nil {
		d.str(app.get("baseUrl"), "app.baseUrl", &c.App.BaseURL)
		d.str(app.get("title"), "app.title", &c.App.Title)
	}
	if be := d.section(root, "backend"); be != nil {
		d.str(be.get("baseUrl"), "backend.baseUrl", &c.Backend.BaseURL)
		d.listen(be.get("listen"), &c.Backend.Listen)
		d.database(be.get("database"), &c.Backend.Database)
		d.auth(be.get("auth"), &c.Backend.Auth)
		d.trustProxy(be.get("trustProxy"), &c.Backend.TrustProxy)
	}
	if cat := d.section(root, "catalog"); cat != nil {
		d.locations(cat.get("locations"), &c.Catalog)
		d.catalogRules(cat.get("rules"), &c.Catalog)
		d.enum(cat.get("orphanStrategy"), "catalog.orphanStrategy", orphanStrategies, &c.Catalog.OrphanStrategy)
		d.processingInterval(cat.get("processingInterval"), &c.Catalog.ProcessingInterval)
	}
	if gr := d.section(root, "greenroom"); gr != nil {
		d.greenroom(gr, &c.Greenroom)
	}
	d.integrations(root, c)
	d.githubProviders(root, c)
	d.githubOrgProviders(root, c) // providers_githuborg.go
	d.gitProviders(root, c)       // providers_git.go
	d.features(root, c)           // features.go
	if c.App.BaseURL == "" {
		c.App.BaseURL = c.Backend.BaseURL
	}
	if c.Greenroom.Demo == nil {
		demo := len(c.Catalog.Locations) == 0
		c.Greenroom.Demo = &demo
	}
	return c
}

// set reports whether n holds a value (not absent, not null).
func set(n *node) bool { return n != nil && n.kind != kindNull }

// section returns the mapping at root.key, or nil when it is not set or not
// a mapping (which is reported).
func (d *decoder) section(root *node, key string) *node {
	return d.mapping(root.get(key), key)
}

func (d *decoder) mapping(n *node, path string) *node {
	if !set(n) {
		return nil
	}
	if n.kind != kindMap {
		d.ps.expected(n.pos, path, "a mapping", n)
		return nil
	}
	return n
}

func (d *decoder) str(n *node, path string, dst *string) bool {
	if !set(n) {
		return false
	}
	if n.kind != kindString {
		d.ps.expected(n.pos, path, "a string", n)
		return false
	}
	*dst = n.s
	return true
}

// integer reads an integer, or a string of decimal digits (what ${VAR}
// substitution produces), within [lo, hi].
func (d *decoder) integer(n *node, path, expected string, lo, hi int64, dst *int64) bool {
	if !set(n) {
		return false
	}
	v, ok := int64(0), false
	switch n.kind {
	case kindInt:
		v, ok = n.i, true
	case kindString:
		i, err := strconv.ParseInt(strings.TrimSpace(n.s), 10, 64)
		v, ok = i, err == nil
	}
	if !ok || v < lo || v > hi {
		d.ps.expected(n.pos, path, expected, n)
		return false
	}
	*dst = v
	return true
}

func (d *decoder) port(n *node, path string, dst *int) {
	var v int64
	if d.integer(n, path, portExpected, 1, 65535, &v) {
		*dst = int(v)
	}
}

// boolean reads true/false, or the strings "true"/"false" from substitution.
func (d *decoder) boolean(n *node, path string) (bool, bool) {
	if !set(n) {
		return false, false
	}
	switch {
	case n.kind == kindBool:
		return n.b, true
	case n.kind == kindString && (n.s == "true" || n.s == "false"):
		return n.s == "true", true
	}
	d.ps.expected(n.pos, path, "true or false", n)
	return false, false
}

func (d *decoder) enum(n *node, path string, allowed []string, dst *string) {
	var s string
	if !d.str(n, path, &s) {
		return
	}
	for _, a := range allowed {
		if s == a {
			*dst = s
			return
		}
	}
	d.ps.expected(n.pos, path, "one of "+strings.Join(allowed, ", "), n)
}

func (d *decoder) duration(n *node, path string, dst *time.Duration) {
	if !set(n) {
		return
	}
	v, err := parseDuration(n)
	if err != nil {
		d.ps.list = append(d.ps.list, Problem{Severity: SeverityError, File: n.pos.file, Line: n.pos.line, Column: n.pos.col,
			Path: path, Message: err.Error(), Expected: durationExpected})
		return
	}
	*dst = v
}

// listen reads backend.listen: "port", "host:port" (":port" for every
// interface), or {host, port}, as Backstage's readHttpServerOptions does.
func (d *decoder) listen(n *node, dst *Listen) {
	if !set(n) {
		return
	}
	const path = "backend.listen"
	switch n.kind {
	case kindString, kindInt:
		s := n.s
		if n.kind == kindInt {
			s = strconv.FormatInt(n.i, 10)
		}
		parts := strings.Split(s, ":")
		port, err := strconv.Atoi(parts[len(parts)-1])
		if len(parts) > 2 || err != nil {
			d.ps.expected(n.pos, path, "<port>, <host>:<port> or {host, port}", n)
			return
		}
		if port < 1 || port > 65535 {
			d.ps.expected(n.pos, path+".port", portExpected, &node{kind: kindInt, i: int64(port)})
			return
		}
		dst.Port = port
		if len(parts) == 2 {
			dst.Host = parts[0]
		}
	case kindMap:
		d.str(n.get("host"), path+".host", &dst.Host)
		d.port(n.get("port"), path+".port", &dst.Port)
	default:
		d.ps.expected(n.pos, path, "<port>, <host>:<port> or {host, port}", n)
	}
}

// database reads backend.database.
func (d *decoder) database(n *node, dst *Database) {
	db := d.mapping(n, "backend.database")
	if db == nil {
		return
	}
	d.enum(db.get("client"), "backend.database.client", []string{ClientBetterSQLite3, ClientSQLite3, ClientPG}, &dst.Client)
	conn := db.get("connection")
	if !set(conn) {
		return
	}
	const path = "backend.database.connection"
	switch conn.kind {
	case kindString:
		if conn.s == "" {
			d.ps.expected(conn.pos, path, "a non-empty string or a mapping", conn)
			return
		}
		dst.Connection.DSN = Secret(conn.s)
	case kindMap:
		d.connection(conn, dst)
	default:
		d.ps.expected(conn.pos, path, "a connection string or a mapping", conn)
	}
}

func (d *decoder) connection(n *node, dst *Database) {
	const path = "backend.database.connection"
	c := &dst.Connection
	pg := dst.Client == ClientPG
	for _, k := range n.keys {
		v := n.vals[k]
		p := path + "." + k
		if !set(v) {
			continue
		}
		switch k {
		case "host", "port", "user", "password", "database", "ssl":
			if !pg {
				d.ps.add(SeverityWarning, v.pos, p, fmt.Sprintf("only used with client pg; ignored with client %s", dst.Client))
				continue
			}
		case "directory", "filename":
			if pg {
				d.ps.add(SeverityWarning, v.pos, p, "only used with the SQLite clients; ignored with client pg")
				continue
			}
		}
		switch k {
		case "host":
			d.str(v, p, &c.Host)
		case "port":
			d.port(v, p, &c.Port)
		case "user":
			d.str(v, p, &c.User)
		case "password":
			var s string
			if d.str(v, p, &s) {
				c.Password = Secret(s)
			}
		case "database":
			d.str(v, p, &c.Database)
		case "ssl":
			d.ssl(v, p, &c.SSL)
		case "directory":
			d.str(v, p, &c.Directory)
		case "filename":
			d.str(v, p, &c.Filename)
		}
	}
}

// ssl reads node-postgres's ssl option: a boolean, an sslmode name, or
// {rejectUnauthorized, ca}.
func (d *decoder) ssl(n *node, path string, dst *SSL) {
	modes := []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full", "no-verify"}
	switch n.kind {
	case kindBool:
		dst.Mode = "disable"
		if n.b {
			dst.Mode = "verify-full"
		}
	case kindString:
		switch n.s {
		case "true":
			dst.Mode = "verify-full"
			return
		case "false":
			dst.Mode = "disable"
			return
		}
		d.enum(n, path, modes, &dst.Mode)
		if dst.Mode == "no-verify" {
			dst.Mode = "require"
		}
	case kindMap:
		dst.Mode = "verify-full"
		if v, ok := d.boolean(n.get("rejectUnauthorized"), path+".rejectUnauthorized"); ok && !v {
			dst.Mode = "require"
		}
		d.str(n.get("ca"), path+".ca", &dst.CA)
	default:
		d.ps.expected(n.pos, path, "true, false, an sslmode such as require, or {rejectUnauthorized, ca}", n)
	}
}

// locations reads catalog.locations. Only valid locations are kept, so
// that an invalid one is reported once, here, with its position in the file.
func (d *decoder) locations(n *node, dst *Catalog) {
	if !set(n) {
		return
	}
	const path = "catalog.locations"
	if n.kind != kindSeq {
		d.ps.expected(n.pos, path, "a list of {type, target}", n)
		return
	}
	for i, it := range n.items {
		p := indexPath(path, i)
		if it.kind != kindMap {
			d.ps.expected(it.pos, p, "a mapping with type and target", it)
			continue
		}
		loc := Location{File: it.pos.file, Line: it.pos.line}
		ok := d.required(it, p, "type")
		ok = d.required(it, p, "target") && ok
		ok = d.str(it.get("type"), p+".type", &loc.Type) && ok
		ok = d.str(it.get("target"), p+".target", &loc.Target) && ok
		if loc.Type != "" && loc.Type != "file" && loc.Type != "url" {
			d.ps.expected(it.get("type").pos, p+".type", "one of file, url", it.get("type"))
			ok = false
		}
		if ok && loc.Type == "url" && !isHTTPURL(loc.Target) {
			d.ps.expected(it.get("target").pos, p+".target", "an absolute http:// or https:// URL", it.get("target"))
			ok = false
		}
		loc.Rules = d.rules(it.get("rules"), p+".rules")
		if !ok {
			continue
		}
		if loc.Type == "file" {
			loc.Path = resolveTarget(it.pos, loc.Target)
		}
		dst.Locations = append(dst.Locations, loc)
	}
}

func (d *decoder) required(m *node, path, key string) bool {
	if set(m.get(key)) {
		return true
	}
	d.ps.list = append(d.ps.list, Problem{Severity: SeverityError, File: m.pos.file, Line: m.pos.line, Column: m.pos.col,
		Path: joinPath(path, key), Message: "missing required key " + key})
	return false
}

// resolveTarget resolves a file location against the directory of the file
// that declared it; values from APP_CONFIG_ variables (line 0) resolve
// against the working directory, as Backstage resolves all of them.
func resolveTarget(at pos, target string) string {
	if filepath.IsAbs(target) || at.line == 0 || at.file == "" {
		return filepath.Clean(target)
	}
	return filepath.Join(filepath.Dir(at.file), target)
}

func (d *decoder) rules(n *node, path string) []LocationRule {
	if !set(n) {
		return nil
	}
	if n.kind != kindSeq {
		d.ps.expected(n.pos, path, "a list of {allow: [kinds]}", n)
		return nil
	}
	var out []LocationRule
	for i, it := range n.items {
		p := indexPath(path, i)
		if it.kind != kindMap {
			d.ps.expected(it.pos, p, "a mapping with allow", it)
			continue
		}
		allow := it.get("allow")
		if !set(allow) || allow.kind != kindSeq {
			d.ps.expected(it.pos, p+".allow", "a list of entity kinds", allow)
			continue
		}
		var r LocationRule
		for j, k := range allow.items {
			if k.kind != kindString || k.s == "" {
				d.ps.expected(k.pos, indexPath(p+".allow", j), "an entity kind such as Component", k)
				continue
			}
			r.Allow = append(r.Allow, k.s)
		}
		out = append(out, r)
	}
	return out
}

// greenroom reads Greenroom's own section.
func (d *decoder) greenroom(n *node, dst *Greenroom) {
	d.str(n.get("dataDir"), "greenroom.dataDir", &dst.DataDir)
	if v, ok := d.boolean(n.get("demo"), "greenroom.demo"); ok {
		dst.Demo = &v
	}
	if lg := d.mapping(n.get("log"), "greenroom.log"); lg != nil {
		d.enum(lg.get("format"), "greenroom.log.format", []string{"text", "json"}, &dst.Log.Format)
		d.enum(lg.get("level"), "greenroom.log.level", []string{"debug", "info", "warn", "error"}, &dst.Log.Level)
	}
	if srv := d.mapping(n.get("server"), "greenroom.server"); srv != nil {
		d.duration(srv.get("requestTimeout"), "greenroom.server.requestTimeout", &dst.Server.RequestTimeout)
		d.duration(srv.get("shutdownTimeout"), "greenroom.server.shutdownTimeout", &dst.Server.ShutdownTimeout)
		d.integer(srv.get("maxBodyBytes"), "greenroom.server.maxBodyBytes", "a positive integer (bytes)", 1, 1<<62, &dst.Server.MaxBodyBytes)
		d.integer(srv.get("memoryLimitBytes"), "greenroom.server.memoryLimitBytes", "a non-negative integer (bytes)", 0, 1<<62, &dst.Server.MemoryLimitBytes)
	}
	if db := d.mapping(n.get("database"), "greenroom.database"); db != nil {
		d.duration(db.get("connectTimeout"), "greenroom.database.connectTimeout", &dst.Database.ConnectTimeout)
	}
	d.greenroomCatalog(n.get("catalog"), &dst.Catalog)
}
