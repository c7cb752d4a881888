package scaffolder

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzRender: any template source renders or fails with an error, within
// the limits; it never panics or hangs.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"${{ parameters.name }}", "{% for i in range(3) %}${{ i }}{% endfor %}", "${{ x | parseRepoUrl }}",
		"${{ 'a' * 3 }}", "{% if %}", "${{", "}}", "{% raw %}${{ x }}{% endraw %}", "${{ (parameters.owner | parseEntityRef).name }}",
		"${{ parameters | pick('name') }}", "{% set x = [1,2] %}${{ x | dump }}",
	} {
		f.Add(s)
	}
	e := NewEngine(Limits{MaxOutput: 1 << 16, MaxIterations: 1000, Timeout: 2 * time.Second})
	data := map[string]any{"parameters": map[string]any{"name": "svc", "owner": "group:default/a"}, "x": "github.com?owner=a&repo=b"}
	f.Fuzz(func(t *testing.T, src string) {
		out, err := e.Render(src, data)
		if err == nil && len(out) > 1<<16 {
			t.Fatalf("output of %d bytes passed the 64 KiB limit", len(out))
		}
		_, _ = e.RenderValue(map[string]any{"v": src}, data)
	})
}

// FuzzParseTemplate: any JSON parses to a template or a located error.
func FuzzParseTemplate(f *testing.F) {
	f.Add(`{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"x"},"spec":{"steps":[{"id":"a","action":"debug:log"}]}}`)
	f.Add(`{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"x"},"spec":{"parameters":[{"properties":{"a":{"type":"string"}}}],"steps":[{"action":"fetch:plain","input":{"url":"${{ parameters.a }}"}}]}}`)
	f.Add(`{}`)
	reg := NewRegistry()
	e := NewEngine(Limits{})
	f.Fuzz(func(t *testing.T, raw string) {
		if !json.Valid([]byte(raw)) {
			return
		}
		tmpl, err := ParseTemplate([]byte(raw))
		if err != nil {
			return
		}
		_ = tmpl.Validate(reg, e)
		_ = tmpl.ValidateValues(map[string]any{"a": "b"})
	})
}
