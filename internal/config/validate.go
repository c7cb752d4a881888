package config

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks the typed configuration, as built in code (start from
// Default) or after Load. It returns every error-severity problem joined
// with errors.Join, each a Problem with its key path, or nil.
func (c *Config) Validate() error {
	var errs []error
	for _, p := range c.validate() {
		if p.Severity == SeverityError {
			errs = append(errs, p)
		}
	}
	return errors.Join(errs...)
}

// validate checks the rules that do not depend on how a value was written.
// The problems carry paths but no locations; Load adds them.
func (c *Config) validate() []Problem {
	var ps []Problem
	bad := func(path, expected, got string) {
		ps = append(ps, Problem{Severity: SeverityError, Path: path, Expected: expected,
			Message: "expected " + expected + ", got " + got})
	}
	quote := strconv.Quote
	checkURL := func(path, v string) {
		if !isHTTPURL(v) {
			bad(path, "an absolute http:// or https:// URL", quote(v))
		}
	}

	checkURL("backend.baseUrl", c.Backend.BaseURL)
	if c.App.BaseURL != c.Backend.BaseURL {
		checkURL("app.baseUrl", c.App.BaseURL)
		if isHTTPURL(c.App.BaseURL) && isHTTPURL(c.Backend.BaseURL) {
			ps = append(ps, Problem{Severity: SeverityWarning, Path: "app.baseUrl",
				Message: "differs from backend.baseUrl (" + c.Backend.BaseURL + "); Greenroom serves the UI and the API from one address, so links to the UI will use " + c.App.BaseURL})
		}
	}
	if strings.TrimSpace(c.App.Title) == "" {
		bad("app.title", "a non-empty string", quote(c.App.Title))
	}
	if p := c.Backend.Listen.Port; p < 1 || p > 65535 {
		bad("backend.listen.port", portExpected, strconv.Itoa(p))
	}

	db := c.Backend.Database
	clients := []string{ClientBetterSQLite3, ClientSQLite3, ClientPG}
	if !slices.Contains(clients, db.Client) {
		bad("backend.database.client", "one of "+strings.Join(clients, ", "), quote(db.Client))
	}
	conn := db.Connection
	if conn.DSN != "" {
		u, err := url.Parse(conn.DSN.Reveal())
		isPG := err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql")
		switch {
		case db.Client == ClientPG && !isPG:
			ps = append(ps, Problem{Severity: SeverityError, Path: "backend.database.connection",
				Expected: "a postgres:// or postgresql:// URL", Message: "expected a postgres:// or postgresql:// URL for client pg"})
		case db.Client != ClientPG && isPG:
			ps = append(ps, Problem{Severity: SeverityError, Path: "backend.database.connection",
				Message: "this is a PostgreSQL URL but backend.database.client is " + db.Client + "; set client: pg"})
		}
	}
	if p := conn.Port; p < 0 || p > 65535 {
		bad("backend.database.connection.port", portExpected, strconv.Itoa(p))
	}
	modes := []string{"", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
	if !slices.Contains(modes, conn.SSL.Mode) {
		bad("backend.database.connection.ssl", "one of "+strings.Join(modes[1:], ", "), quote(conn.SSL.Mode))
	}

	for i, loc := range c.Catalog.Locations {
		p := indexPath("catalog.locations", i)
		switch loc.Type {
		case "file":
			if loc.Target == "" {
				bad(p+".target", "a file path", `""`)
			}
		case "url":
			checkURL(p+".target", loc.Target)
		default:
			bad(p+".type", "one of file, url", quote(loc.Type))
		}
		for j, r := range loc.Rules {
			for k, kind := range r.Allow {
				if kind == "" {
					bad(indexPath(indexPath(p+".rules", j)+".allow", k), "an entity kind such as Component", `""`)
				}
			}
		}
	}

	g := c.Greenroom
	if strings.TrimSpace(g.DataDir) == "" {
		bad("greenroom.dataDir", "a directory path", quote(g.DataDir))
	}
	if !slices.Contains([]string{"text", "json"}, g.Log.Format) {
		bad("greenroom.log.format", "one of text, json", quote(g.Log.Format))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, g.Log.Level) {
		bad("greenroom.log.level", "one of debug, info, warn, error", quote(g.Log.Level))
	}
	for path, d := range map[string]time.Duration{
		"greenroom.server.requestTimeout":   g.Server.RequestTimeout,
		"greenroom.server.shutdownTimeout":  g.Server.ShutdownTimeout,
		"greenroom.database.connectTimeout": g.Database.ConnectTimeout,
	} {
		if d <= 0 {
			bad(path, "a positive duration", d.String())
		}
	}
	if g.Server.MaxBodyBytes <= 0 {
		bad("greenroom.server.maxBodyBytes", "a positive integer (bytes)", strconv.FormatInt(g.Server.MaxBodyBytes, 10))
	}
	if g.Server.MemoryLimitBytes < 0 {
		bad("greenroom.server.memoryLimitBytes", "a non-negative integer (bytes)", strconv.FormatInt(g.Server.MemoryLimitBytes, 10))
	}
	ps = append(ps, c.authProblems()...)
	ps = append(ps, c.catalogProcessingProblems()...)
	slices.SortStableFunc(ps, func(a, b Problem) int { return strings.Compare(a.Path, b.Path) })
	return ps
}

// isHTTPURL reports whether s is an absolute http or https URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != ""
}
