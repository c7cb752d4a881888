package config

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLoadSafetyLimits feeds hostile files: each must fail fast, with one
// error in that file, within bounded time and memory. The parser's own
// limits are tested in yamltree; these cases check that Load applies
// config's limits (the node budget, keys per mapping, depth, file size).
func TestLoadSafetyLimits(t *testing.T) {
	bomb := "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	for i, prev := 'b', 'a'; i <= 'j'; i, prev = i+1, i {
		bomb += string(i) + ": &" + string(i) + " [" + strings.Repeat("*"+string(prev)+", ", 8) + "*" + string(prev) + "]\n"
	}
	var flat strings.Builder
	for i := 0; i < maxSiblings+1; i++ {
		flat.WriteString("key" + strconv.Itoa(i) + ": v\n")
	}
	tests := []struct {
		name string
		text string
		want string // in the one error message
	}{
		{name: "billion laughs", text: bomb, want: "too many values (the limit is 1000000, aliases included)"},
		{name: "nesting over 64", text: "a: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n", want: "nested too deeply (the limit is 64 levels)"},
		{name: "wide mapping", text: flat.String(), want: "too many keys in one mapping (the limit is 5000)"},
		{name: "too large", text: "a: " + strings.Repeat("x", maxFileBytes), want: "larger than the limit of 4 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := writeConfig(t, "app-config.yaml", tt.text)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, r, err := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Load took %v", d)
			}
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 512<<20 {
				t.Errorf("Load allocated %d MiB", alloc>>20)
			}
			errs := r.Filter(SeverityError)
			if err == nil || len(errs) != 1 || !strings.Contains(errs[0].Message, tt.want) || errs[0].File != f {
				t.Errorf("problems = %v, want one error in %s containing %q", errs, f, tt.want)
			}
		})
	}
}
