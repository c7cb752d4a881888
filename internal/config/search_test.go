package config

import (
	"strings"
	"testing"
)

func TestSearchConfig(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       Search
		problem    string
	}{
		{"default", "app: {title: x}\n", Search{}, ""},
		{"embedded options", "search:\n  engine: embedded\n  embedded:\n    directory: /var/lib/gr/search\n    rebuildOnStart: false\n  maxPageLimit: 50\n",
			Search{Engine: "embedded", Directory: "/var/lib/gr/search", NoRebuildOnStart: true, MaxPageLimit: 50}, ""},
		{"unknown key", "search:\n  embeded: {}\n", Search{}, "embeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, rep := mustLoad(t, LoadOptions{Files: []string{writeConfig(t, "app-config.yaml", tt.yaml)}})
			if cfg.Search != tt.want {
				t.Errorf("search = %+v, want %+v", cfg.Search, tt.want)
			}
			all := strings.Join(lines(rep, SeverityInfo), "\n")
			if tt.problem == "" && strings.Contains(all, "search") {
				t.Errorf("unexpected problems: %s", all)
			}
			if tt.problem != "" && !strings.Contains(all, tt.problem) {
				t.Errorf("problems %q lack %q", all, tt.problem)
			}
		})
	}
}

func TestSearchConfigErrors(t *testing.T) {
	for yaml, want := range map[string]string{
		"search:\n  engine: solr\n":       "app-config.yaml:2:3: search.engine: expected one of embedded",
		"search:\n  maxPageLimit: 1000\n": "search.maxPageLimit: expected an integer between 1 and 100",
		"search:\n  embedded: [x]\n":      "search.embedded: expected a mapping",
	} {
		_, _, err := Load(LoadOptions{Files: []string{writeConfig(t, "app-config.yaml", yaml)}, LookupEnv: noEnv})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", yaml, err, want)
		}
	}
}
