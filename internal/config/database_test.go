package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestLoadDatabase(t *testing.T) {
	env := envMap(map[string]string{"POSTGRES_PORT": "5433", "POSTGRES_PASSWORD": "p@ss:w/rd#1 %"})
	tests := []struct {
		name     string
		yaml     string
		driver   string
		sqlite   string // SQLitePath("/data"), for sqlite
		dsn      string // PostgresDSN(), for postgres
		problems []string
	}{
		{name: "default", yaml: "backend: {}\n", driver: "sqlite", sqlite: "/data/greenroom.db"},
		{
			name:   "backstage default in-memory",
			yaml:   "backend:\n  database:\n    client: better-sqlite3\n    connection: ':memory:'\n",
			driver: "sqlite", sqlite: ":memory:",
		},
		{
			name:   "sqlite3 file name",
			yaml:   "backend:\n  database:\n    client: sqlite3\n    connection: state/portal.sqlite\n",
			driver: "sqlite", sqlite: "state/portal.sqlite",
		},
		{
			name:   "sqlite directory",
			yaml:   "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: /var/lib/greenroom\n",
			driver: "sqlite", sqlite: "/var/lib/greenroom/greenroom.db",
		},
		{
			name:   "sqlite directory and filename",
			yaml:   "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: /srv\n      filename: portal.db\n",
			driver: "sqlite", sqlite: "/srv/portal.db",
		},
		{
			name:   "sqlite filename in memory",
			yaml:   "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      filename: ':memory:'\n",
			driver: "sqlite", sqlite: ":memory:",
		},
		{
			name:   "pg connection string",
			yaml:   "backend:\n  database:\n    client: pg\n    connection: postgresql://greenroom:secret@db.internal:5432/portal?sslmode=require\n",
			driver: "postgres", dsn: "postgresql://greenroom:secret@db.internal:5432/portal?sslmode=require",
		},
		{
			name: "pg object with escaped password",
			yaml: "backend:\n  database:\n    client: pg\n    connection:\n      host: db.internal\n      port: ${POSTGRES_PORT}\n" +
				"      user: greenroom\n      password: ${POSTGRES_PASSWORD}\n      database: portal\n      ssl: require\n",
			driver: "postgres", dsn: "postgres://greenroom:p%40ss%3Aw%2Frd%231%20%25@db.internal:5433/portal?sslmode=require",
		},
		{
			name:   "pg object defaults",
			yaml:   "backend:\n  database:\n    client: pg\n",
			driver: "postgres", dsn: "postgres://localhost:5432",
		},
		{
			name:   "pg ssl true",
			yaml:   "backend:\n  database:\n    client: pg\n    connection:\n      host: db\n      user: app\n      ssl: true\n",
			driver: "postgres", dsn: "postgres://app@db:5432?sslmode=verify-full",
		},
		{
			name:   "pg ssl without verification",
			yaml:   "backend:\n  database:\n    client: pg\n    connection:\n      host: db\n      ssl:\n        rejectUnauthorized: false\n",
			driver: "postgres", dsn: "postgres://db:5432?sslmode=require",
		},
		{
			name:   "pg unix socket",
			yaml:   "backend:\n  database:\n    client: pg\n    connection:\n      host: /var/run/postgresql\n      user: app\n      database: portal\n",
			driver: "postgres", dsn: "postgres://app@/portal?host=%2Fvar%2Frun%2Fpostgresql",
		},
		{
			name:   "pg string not a URL",
			yaml:   "backend:\n  database:\n    client: pg\n    connection: host=db user=app\n",
			driver: "postgres", dsn: "host=db user=app",
			problems: []string{"error F:4:5: backend.database.connection: expected a postgres:// or postgresql:// URL for client pg"},
		},
		{
			name:   "sqlite with a postgres URL",
			yaml:   "backend:\n  database:\n    connection: postgres://db/portal\n",
			driver: "sqlite", sqlite: "postgres://db/portal",
			problems: []string{"error F:3:5: backend.database.connection: this is a PostgreSQL URL but backend.database.client is better-sqlite3; set client: pg"},
		},
		{
			name:   "sqlite with pg keys",
			yaml:   "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      host: db\n",
			driver: "sqlite", sqlite: "/data/greenroom.db",
			problems: []string{"warning F:5:7: backend.database.connection.host: only used with client pg; ignored with client better-sqlite3"},
		},
		{
			name:   "pg with sqlite keys",
			yaml:   "backend:\n  database:\n    client: pg\n    connection:\n      directory: /srv\n",
			driver: "postgres", dsn: "postgres://localhost:5432",
			problems: []string{"warning F:5:7: backend.database.connection.directory: only used with the SQLite clients; ignored with client pg"},
		},
		{
			name:   "unsupported client",
			yaml:   "backend:\n  database:\n    client: embedded-postgres\n",
			driver: "sqlite", sqlite: "/data/greenroom.db",
			problems: []string{`error F:3:5: backend.database.client: expected one of better-sqlite3, sqlite3, pg, got "embedded-postgres"`},
		},
		{
			name:   "bad ssl",
			yaml:   "backend:\n  database:\n    client: pg\n    connection:\n      ssl: maybe\n",
			driver: "postgres", dsn: "postgres://localhost:5432",
			problems: []string{`error F:5:7: backend.database.connection.ssl: expected one of disable, allow, prefer, require, verify-ca, verify-full, no-verify, got "maybe"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := writeConfig(t, "app-config.yaml", tt.yaml)
			c, r, _ := Load(LoadOptions{Files: []string{f}, LookupEnv: env})
			got := lines(r, SeverityWarning)
			for i := range got {
				got[i] = strings.Replace(got[i], f, "F", 1)
			}
			if diff := cmp.Diff(tt.problems, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			db := c.Backend.Database
			if db.Driver() != tt.driver {
				t.Errorf("Driver() = %q, want %q", db.Driver(), tt.driver)
			}
			if tt.driver == "sqlite" {
				if got := db.SQLitePath("/data"); got != filepath.FromSlash(tt.sqlite) {
					t.Errorf("SQLitePath = %q, want %q", got, tt.sqlite)
				}
				return
			}
			dsn := db.PostgresDSN()
			if dsn != tt.dsn {
				t.Errorf("PostgresDSN = %q, want %q", dsn, tt.dsn)
			}
			if len(tt.problems) > 0 {
				return
			}
			pc, err := pgconn.ParseConfig(dsn)
			if err != nil {
				t.Fatalf("pgx cannot parse %q: %v", dsn, err)
			}
			conn := db.Connection
			if conn.Password != "" && pc.Password != conn.Password.Reveal() {
				t.Errorf("pgx reads password %q, want %q", pc.Password, conn.Password.Reveal())
			}
			if conn.Host != "" && pc.Host != conn.Host {
				t.Errorf("pgx reads host %q, want %q", pc.Host, conn.Host)
			}
		})
	}
}
