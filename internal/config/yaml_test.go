package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadOneDocument checks config's use of yamltree: a file holds one
// document, even when an empty document comes before the extra one.
func TestLoadOneDocument(t *testing.T) {
	tests := []struct {
		name string
		text string
		errs []string
	}{
		{name: "empty documents around one", text: "---\n---\napp: {title: T}\n---\n"},
		{name: "only empty documents", text: "---\n# nothing\n---\n"},
		{
			name: "extra document after an empty one", text: "app: {title: T}\n---\n---\nbackend: {listen: 1}\n",
			errs: []string{"error F:4:1: a config file holds one YAML document; document 2 is extra"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := writeConfig(t, "app-config.yaml", tt.text)
			_, r, _ := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
			got := lines(r, SeverityWarning)
			for i := range got {
				got[i] = strings.Replace(got[i], f, "F", 1)
			}
			if diff := cmp.Diff(tt.errs, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadBudgetAcrossFiles checks that the node limit bounds one Load,
// not each file: two files of 600,000 values each exceed it together.
func TestLoadBudgetAcrossFiles(t *testing.T) {
	// 6 * 10^5 values: 6 lists of 10 aliases to a list of 10,000.
	text := "x: &x [" + strings.Repeat("0, ", 9_999) + "0]\n"
	text += "y: &y [" + strings.Repeat("*x, ", 9) + "*x]\n"
	for i := 0; i < 5; i++ {
		text += "z" + string(rune('a'+i)) + ": *y\n"
	}
	a := writeConfig(t, "a.yaml", text)
	if _, _, err := Load(LoadOptions{Files: []string{a}, LookupEnv: noEnv}); err != nil {
		t.Fatalf("one file: %v", err)
	}
	b := writeConfig(t, "b.yaml", text)
	_, r, _ := Load(LoadOptions{Files: []string{a, b}, LookupEnv: noEnv})
	errs := r.Filter(SeverityError)
	if len(errs) != 1 || errs[0].File != b || !strings.Contains(errs[0].Message, "too many values (the limit is 1000000, aliases included)") {
		t.Errorf("problems = %v, want the node limit exceeded in %s", errs, b)
	}
}
