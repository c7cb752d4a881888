package config

import (
	"strings"
	"testing"
)

func TestMemoryLimitBytes(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    int64
		wantErr string
	}{
		{name: "default: none", text: "greenroom:\n  demo: false\n", want: 0},
		{name: "set", text: "greenroom:\n  server:\n    memoryLimitBytes: 536870912\n", want: 512 << 20},
		{name: "off", text: "greenroom:\n  server:\n    memoryLimitBytes: 0\n", want: 0},
		{name: "from a string", text: "greenroom:\n  server:\n    memoryLimitBytes: \"1048576\"\n", want: 1 << 20},
		{name: "negative", text: "greenroom:\n  server:\n    memoryLimitBytes: -1\n", wantErr: "greenroom.server.memoryLimitBytes: expected a non-negative integer (bytes)"},
		{name: "with a unit", text: "greenroom:\n  server:\n    memoryLimitBytes: 256MiB\n", wantErr: "greenroom.server.memoryLimitBytes: expected a non-negative integer (bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := writeConfig(t, "app-config.yaml", tt.text)
			cfg, r, err := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
			if tt.wantErr != "" {
				errs := r.Filter(SeverityError)
				if err == nil || len(errs) != 1 || !strings.Contains(errs[0].String(), tt.wantErr) {
					t.Fatalf("problems = %v, want one error containing %q", errs, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := cfg.Greenroom.Server.MemoryLimitBytes; got != tt.want {
				t.Errorf("MemoryLimitBytes = %d, want %d", got, tt.want)
			}
		})
	}
}
