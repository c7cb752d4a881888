package config

import (
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is Greenroom's typed configuration: the Backstage keys Greenroom
// uses, with defaults applied, plus the merged raw tree for the sections it
// does not type (see Raw, Decode and Origin).
type Config struct {
	App          App
	Backend      Backend
	Catalog      Catalog
	Greenroom    Greenroom
	Integrations Integrations // see integrations.go
	GitHubEvents GitHubEvents // events.modules.github, see providers_github.go
	Permission   Permission   // permission, see permission.go
	SignIn       SignIn       // auth and greenroom.rateLimit, see auth_signin.go
	Scaffolder   Scaffolder   // see scaffolder.go
	TechDocs     TechDocs     // techdocs, see techdocs.go
	Feishu       Feishu       // feishu, see feishu.go
	Search       Search       // search, see search.go

	raw   *node    // merged tree; nil for configs built in code
	files []string // the files Load read, in order
}

// App is the app section. Greenroom serves the UI and the API from one
// port, so app.baseUrl defaults to backend.baseUrl.
type App struct {
	BaseURL string // app.baseUrl
	Title   string // app.title, default "Greenroom"
}

// Backend is the backend section.
type Backend struct {
	BaseURL  string // backend.baseUrl, default http://localhost:7007
	Listen   Listen
	Database Database
	Reading  Reading // backend.reading
	Auth     Auth    // backend.auth, see auth.go
	// TrustProxy is backend.trustProxy (trustproxy.go).
	TrustProxy TrustProxy
}

// Listen is backend.listen: where the HTTP server binds.
type Listen struct {
	// Host is the interface to bind; "" (the default, as in Backstage)
	// means every interface.
	Host string
	// Port defaults to 7007.
	Port int
}

// Addr returns the address for net.Listen, e.g. ":7007" or "127.0.0.1:7007".
func (l Listen) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// The database clients Backstage names in backend.database.client that
// Greenroom supports. Both SQLite clients select Greenroom's embedded
// (pure Go) SQLite.
const (
	ClientBetterSQLite3 = "better-sqlite3"
	ClientSQLite3       = "sqlite3"
	ClientPG            = "pg"
)

// Database is backend.database.
type Database struct {
	// Client is the value of backend.database.client, default better-sqlite3.
	Client     string
	Connection Connection
}

// Connection is backend.database.connection, either a single string (DSN)
// or an object. Which fields apply depends on the client.
type Connection struct {
	// DSN is the connection given as a string: a postgres:// URL for pg, or
	// ':memory:' or a file name for SQLite. It is a Secret because URLs carry
	// passwords.
	DSN Secret

	// PostgreSQL object form, as node-postgres takes it.
	Host     string
	Port     int
	User     string
	Password Secret
	Database string
	SSL      SSL

	// SQLite object form. Backstage keeps one file per plugin in
	// Directory; Greenroom keeps one, greenroom.db, there. Filename names
	// the file directly (Backstage accepts it only per plugin).
	Directory string
	Filename  string
}

// SSL is backend.database.connection.ssl, normalised to libpq's sslmode.
type SSL struct {
	// Mode is "" (not set: the driver's default) or one of disable, allow,
	// prefer, require, verify-ca, verify-full. ssl: true means verify-full;
	// an object with rejectUnauthorized: false means require.
	Mode string
	// CA is the PEM text of ssl.ca (usually given with $file). A URL cannot
	// carry it, so PostgresDSN leaves it out; the store adds it to its TLS
	// configuration.
	CA string
}

// Driver returns "postgres" for client pg and "sqlite" otherwise.
func (d Database) Driver() string {
	if d.Client == ClientPG {
		return "postgres"
	}
	return "sqlite"
}

// PostgresDSN returns a pgx-compatible URL: the connection string as given,
// or one built from the object form (host default localhost, port default
// 5432, user and password URL-escaped, the database left out when not set so
// that the server's default applies). A host starting with '/' is a Unix
// socket directory and goes into the host query parameter.
func (d Database) PostgresDSN() string {
	c := d.Connection
	if c.DSN != "" {
		return c.DSN.Reveal()
	}
	u := url.URL{Scheme: "postgres"}
	q := url.Values{}
	host := c.Host
	if host == "" {
		host = "localhost"
	}
	port := c.Port
	if strings.HasPrefix(host, "/") {
		q.Set("host", host)
		if port != 0 {
			q.Set("port", strconv.Itoa(port))
		}
	} else {
		if port == 0 {
			port = 5432
		}
		u.Host = net.JoinHostPort(host, strconv.Itoa(port))
	}
	switch {
	case c.Password != "":
		u.User = url.UserPassword(c.User, c.Password.Reveal())
	case c.User != "":
		u.User = url.User(c.User)
	}
	if c.Database != "" {
		u.Path = "/" + c.Database
	}
	if c.SSL.Mode != "" {
		q.Set("sslmode", c.SSL.Mode)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// sqliteFile is the file name Greenroom uses inside a directory.
const sqliteFile = "greenroom.db"

// SQLitePath returns ":memory:" for an in-memory database, else the database
// file: the connection string or connection.filename as given, or
// greenroom.db inside connection.directory, or inside dataDir by default.
// Relative paths are relative to the working directory, as in Backstage.
func (d Database) SQLitePath(dataDir string) string {
	c := d.Connection
	switch {
	case c.DSN != "":
		return c.DSN.Reveal()
	case c.Filename == ":memory:":
		return c.Filename
	case c.Filename != "" && c.Directory != "" && !filepath.IsAbs(c.Filename):
		return filepath.Join(c.Directory, c.Filename)
	case c.Filename != "":
		return c.Filename
	case c.Directory != "":
		return filepath.Join(c.Directory, sqliteFile)
	}
	return filepath.Join(dataDir, sqliteFile)
}

// Catalog is the catalog section.
type Catalog struct {
	Locations []Location // catalog.locations
	// Rules is catalog.rules; RulesSet says it was configured (even as an
	// empty list), which replaces Backstage's default rules. See auth.go.
	Rules    []CatalogRule
	RulesSet bool
	// OrphanStrategy is catalog.orphanStrategy: "keep" or "delete"
	// (DefaultOrphanStrategy). See catalog_processing.go.
	OrphanStrategy string
	// ProcessingInterval is catalog.processingInterval, how often the whole
	// catalog is refreshed (DefaultProcessingInterval); zero when set to
	// false, which disables scheduled refreshes.
	ProcessingInterval time.Duration
	// GitHubProviders is catalog.providers.github, see providers_github.go.
	GitHubProviders []GitHubProvider
	// GitProviders and DirectoryProviders are catalog.providers.git and
	// catalog.providers.directory, see providers_git.go.
	GitProviders       []GitProvider
	DirectoryProviders []DirectoryProvider
	// GitHubOrgProviders is catalog.providers.githubOrg, see providers_githuborg.go.
	GitHubOrgProviders []GitHubOrgProvider
}

// Location is one entry of catalog.locations.
type Location struct {
	Type   string // "file" or "url"
	Target string // as written
	// Path is, for type file, Target resolved against the directory of the
	// config file that declared it (against the working directory when it
	// came from an APP_CONFIG_ variable or from code). Empty for url.
	Path  string
	Rules []LocationRule
	// File and Line are where the location was declared, for messages.
	File string
	Line int
}

// LocationRule is one entry of catalog.locations[].rules.
type LocationRule struct {
	Allow []string // entity kinds, e.g. [User, Group]
}

// Greenroom is the greenroom section, Greenroom's own keys.
type Greenroom struct {
	// DataDir holds the embedded database and other state, default
	// ./.greenroom, relative to the working directory.
	DataDir string
	// Demo loads demo data. Nil means not configured; Load sets it to true
	// exactly when no catalog.locations are configured.
	Demo     *bool
	Log      Log
	Server   Server
	Database DatabaseOptions
	Catalog  GreenroomCatalog // greenroom.catalog, see auth.go
}

// Log is greenroom.log.
type Log struct {
	Format string // "text" (default) or "json"
	Level  string // "debug", "info" (default), "warn" or "error"
}

// SlogLevel returns Level as a slog.Level (info when unset or unknown).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Server is greenroom.server.
type Server struct {
	RequestTimeout  time.Duration // default 30s
	ShutdownTimeout time.Duration // default 20s
	MaxBodyBytes    int64         // default 10 MiB
	// MemoryLimitBytes is the Go runtime's soft memory limit for serve
	// (debug.SetMemoryLimit), default DefaultMemoryLimitBytes; 0 is none.
	// The GOMEMLIMIT environment variable, when set, wins.
	MemoryLimitBytes int64
}

// DatabaseOptions is greenroom.database.
type DatabaseOptions struct {
	// ConnectTimeout is how long start-up retries an unreachable database,
	// default 15s.
	ConnectTimeout time.Duration
}

// The defaults of the typed keys.
const (
	DefaultBaseURL         = "http://localhost:7007"
	DefaultTitle           = "Greenroom"
	DefaultPort            = 7007
	DefaultDataDir         = "./.greenroom"
	DefaultRequestTimeout  = 30 * time.Second
	DefaultShutdownTimeout = 20 * time.Second
	DefaultConnectTimeout  = 15 * time.Second
	DefaultMaxBodyBytes    = 10 << 20
	// DefaultMemoryLimitBytes is no limit: measured at 100k entities, a
	// 256 MiB limit cut SQLite's peak from 549 to 465 MB for the same
	// ingest CPU, but on PostgreSQL (a live heap near 190 MB once the read
	// cache is full) it cost 8% of the ingest's CPU and a quarter of the
	// facet throughput, the collector's share of the CPU doubling. An
	// operator trading CPU for memory sets it; a value near the live heap
	// makes the collector run almost continuously.
	DefaultMemoryLimitBytes = 0
)

// Default returns the configuration Greenroom runs with when no file sets
// anything: SQLite in DataDir, port 7007, demo data on.
func Default() *Config {
	demo := true
	return &Config{
		App: App{BaseURL: DefaultBaseURL, Title: DefaultTitle},
		Backend: Backend{
			BaseURL:  DefaultBaseURL,
			Listen:   Listen{Port: DefaultPort},
			Database: Database{Client: ClientBetterSQLite3},
		},
		Catalog: Catalog{OrphanStrategy: DefaultOrphanStrategy, ProcessingInterval: DefaultProcessingInterval},
		Greenroom: Greenroom{
			DataDir: DefaultDataDir,
			Demo:    &demo,
			Log:     Log{Format: "text", Level: "info"},
			Server: Server{
				RequestTimeout:   DefaultRequestTimeout,
				ShutdownTimeout:  DefaultShutdownTimeout,
				MaxBodyBytes:     DefaultMaxBodyBytes,
				MemoryLimitBytes: DefaultMemoryLimitBytes,
			},
			Database: DatabaseOptions{ConnectTimeout: DefaultConnectTimeout},
		},
		Permission: Permission{Policy: defaultPolicy()}, // permission.go
	}
}

// DemoEnabled reports whether demo data should be loaded: greenroom.demo
// when set, else true exactly when no catalog location is configured.
func (c *Config) DemoEnabled() bool {
	if c.Greenroom.Demo != nil {
		return *c.Greenroom.Demo
	}
	return len(c.Catalog.Locations) == 0
}

// Files returns the config files Load read, in merge order.
func (c *Config) Files() []string { return append([]string(nil), c.files...) }
