package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"slices"
)

// Reloading. A running server re-reads its configuration (on SIGHUP, or
// when a watched file changes) and applies what can change live: the
// permission section. Everything else is compared with what runs and
// reported as needing a restart, since the listener, the store and the
// wired features were built from it at start-up.

// LiveSections are the configuration sections a running server applies on
// reload without a restart.
var LiveSections = []string{"permission"}

// WatchedFiles are the files whose change should trigger a reload: the
// configuration files Load read and the policy files they name.
func (c *Config) WatchedFiles() []string {
	out := c.Files()
	for _, f := range c.Permission.PolicyFiles {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Fingerprint is a digest of the contents of files, in order; a missing
// file counts as empty content distinct from an empty file. A change of
// any byte changes it, a rewrite with the same bytes does not.
func Fingerprint(files []string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			h.Write([]byte("\x00missing\x00" + f + "\x00"))
			continue
		case err != nil:
			return "", err
		}
		h.Write([]byte(f + "\x00"))
		sum := sha256.Sum256(b)
		h.Write(sum[:])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// restartSections names the parts of Config compared on reload, in the
// order they are reported; permission is absent (it applies live).
func restartSections(c *Config) []struct {
	name string
	v    any
} {
	return []struct {
		name string
		v    any
	}{
		{"app", c.App},
		{"backend.baseUrl", c.Backend.BaseURL},
		{"backend.listen", c.Backend.Listen},
		{"backend.trustProxy", c.Backend.TrustProxy},
		{"backend.database", c.Backend.Database},
		{"backend.reading", c.Backend.Reading},
		{"backend.auth", c.Backend.Auth},
		{"catalog", c.Catalog},
		{"greenroom", c.Greenroom},
		{"integrations", c.Integrations},
		{"events", c.GitHubEvents},
		{"auth", c.SignIn},
		{"scaffolder", c.Scaffolder},
		{"techdocs", c.TechDocs},
		{"feishu", c.Feishu},
		{"search", c.Search},
	}
}

// RestartNeeded lists the sections of next that differ from c and that
// only a restart applies (everything but LiveSections). Empty when only
// live sections changed.
func (c *Config) RestartNeeded(next *Config) []string {
	a, b := restartSections(c), restartSections(next)
	var out []string
	for i := range a {
		if !reflect.DeepEqual(a[i].v, b[i].v) {
			out = append(out, a[i].name)
		}
	}
	return out
}

// PermissionChanged reports whether next's permission section (bindings,
// contractors, policies and their files' text) differs from c's.
func (c *Config) PermissionChanged(next *Config) bool {
	return !reflect.DeepEqual(c.Permission, next.Permission)
}
