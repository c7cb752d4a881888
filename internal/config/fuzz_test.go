package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad loads one arbitrary file. Load must not panic, must never fail
// without saying which file is at fault, and whatever it returns must dump.
// Seeds: every YAML file under testdata plus testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	env := envMap(map[string]string{"PORT": "7008", "TOKEN": "t0k3n", "EMPTY": ""})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "app-config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, r, err := Load(LoadOptions{Files: []string{path}, LookupEnv: env})
		if c == nil {
			t.Fatal("Load returned a nil Config")
		}
		if (err != nil) != r.HasErrors() {
			t.Fatalf("err = %v but HasErrors() = %v", err, r.HasErrors())
		}
		if err != nil {
			var pe *ProblemsError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("err = %#v, want a non-empty *ProblemsError", err)
			}
		}
		for _, p := range r.Problems {
			if p.File == "" {
				t.Fatalf("problem without a file: %+v", p)
			}
		}
		if err := c.Dump(&bytes.Buffer{}); err != nil {
			t.Fatalf("Dump: %v", err)
		}
	})
}
