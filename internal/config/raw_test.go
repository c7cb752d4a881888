package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const featureYAML = `integrations:
  github:
    - host: github.com
      token: ghp_example
    - host: ghe.acme.dev
      apiBaseUrl: https://ghe.acme.dev/api/v3
techdocs:
  cache:
    ttl: {minutes: 5}
    readTimeout: 2 seconds
argocd:
  instances:
    - name: prod
      url: https://argocd.acme.dev
      port: not-a-number
`

func TestRawDecodeOrigin(t *testing.T) {
	f := writeConfig(t, "app-config.yaml", featureYAML)
	c, _ := mustLoad(t, LoadOptions{Files: []string{f}})

	type github struct {
		Host       string `json:"host"`
		Token      Secret `json:"token"`
		APIBaseURL string `json:"apiBaseUrl"`
	}
	var gh []github
	if err := c.Decode("integrations.github", &gh); err != nil {
		t.Fatal(err)
	}
	want := []github{{Host: "github.com", Token: "ghp_example"}, {Host: "ghe.acme.dev", APIBaseURL: "https://ghe.acme.dev/api/v3"}}
	if diff := cmp.Diff(want, gh); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}

	var one github
	if err := c.Decode("integrations.github[1]", &one); err != nil || one.Host != "ghe.acme.dev" {
		t.Errorf("Decode by index = %+v, %v", one, err)
	}

	var cache struct {
		TTL         Duration `json:"ttl"`
		ReadTimeout Duration `json:"readTimeout"`
	}
	if err := c.Decode("techdocs.cache", &cache); err != nil {
		t.Fatal(err)
	}
	if time.Duration(cache.TTL) != 5*time.Minute || time.Duration(cache.ReadTimeout) != 2*time.Second {
		t.Errorf("durations = %v, %v", time.Duration(cache.TTL), time.Duration(cache.ReadTimeout))
	}

	untouched := []github{{Host: "keep"}}
	if err := c.Decode("integrations.gitlab", &untouched); err != nil || untouched[0].Host != "keep" {
		t.Errorf("Decode of an absent path = %v, %v; want nil and into untouched", untouched, err)
	}
	if c.Has("integrations.gitlab") || !c.Has("integrations.github[1].apiBaseUrl") || c.Has("integrations.github[2]") {
		t.Error("Has is wrong")
	}

	var argo struct {
		Instances []struct {
			Port int `json:"port"`
		} `json:"instances"`
	}
	err := c.Decode("argocd", &argo)
	if err == nil || !strings.Contains(err.Error(), f+":15:7") || !strings.Contains(err.Error(), "decode argocd") {
		t.Errorf("Decode type error = %v, want it located at the argocd instances", err)
	}

	tests := []struct {
		path string
		line int
	}{
		{"integrations.github[1].apiBaseUrl", 6},
		{"integrations.github[1]", 5},
		{"techdocs.cache.ttl", 9},
		{"techdocs.cache.nothere", 8}, // nearest enclosing value
		{"argocd.instances[0].url", 14},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			file, line := c.Origin(tt.path)
			if file != f || line != tt.line {
				t.Errorf("Origin = %s:%d, want %s:%d", file, line, f, tt.line)
			}
		})
	}

	raw := c.Raw()
	raw["techdocs"] = "mutated"
	if _, ok := c.Raw()["techdocs"].(map[string]any); !ok {
		t.Error("Raw must return a copy")
	}
	if err := c.Decode("bad[path", &one); err == nil {
		t.Error("Decode with an invalid path must fail")
	}
}

func TestValidateCodeBuilt(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	c := Default()
	c.Backend.BaseURL = "portal.acme.dev"
	c.App.BaseURL = "portal.acme.dev"
	c.Backend.Listen.Port = 70000
	c.Backend.Database.Client = "mysql"
	c.Catalog.Locations = []Location{{Type: "url", Target: "not a url"}, {Type: "git", Target: "x"}}
	c.Greenroom.Log.Level = "loud"
	c.Greenroom.Server.RequestTimeout = 0
	c.Greenroom.Server.MaxBodyBytes = -1
	err := c.Validate()
	want := []string{
		`backend.baseUrl: expected an absolute http:// or https:// URL, got "portal.acme.dev"`,
		`backend.database.client: expected one of better-sqlite3, sqlite3, pg, got "mysql"`,
		"backend.listen.port: expected an integer between 1 and 65535, got 70000",
		`catalog.locations[0].target: expected an absolute http:// or https:// URL, got "not a url"`,
		`catalog.locations[1].type: expected one of file, url, got "git"`,
		`greenroom.log.level: expected one of debug, info, warn, error, got "loud"`,
		"greenroom.server.maxBodyBytes: expected a positive integer (bytes), got -1",
		"greenroom.server.requestTimeout: expected a positive duration, got 0s",
	}
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
	var p Problem
	if !errors.As(err, &p) || p.Path != "backend.baseUrl" || p.Expected != "an absolute http:// or https:// URL" {
		t.Errorf("errors.As Problem = %+v", p)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   *node
		want time.Duration
		err  string
	}{
		{in: newString("30s", pos{}), want: 30 * time.Second},
		{in: newString("2 minutes", pos{}), want: 2 * time.Minute},
		{in: newString("1.5h", pos{}), want: 90 * time.Minute},
		{in: newString("1d", pos{}), want: 24 * time.Hour},
		{in: newString("250ms", pos{}), want: 250 * time.Millisecond},
		{in: newString("1m30s", pos{}), want: 90 * time.Second},
		{in: newString("PT1M", pos{}), want: time.Minute},
		{in: newString("P1DT2H", pos{}), want: 26 * time.Hour},
		{in: newString("PT0.5S", pos{}), want: 500 * time.Millisecond},
		{in: &node{kind: kindMap, keys: []string{"minutes", "seconds"}, vals: map[string]*node{
			"minutes": {kind: kindInt, i: 1}, "seconds": newString("30", pos{}),
		}}, want: 90 * time.Second},
		{in: &node{kind: kindMap, keys: []string{"months"}, vals: map[string]*node{"months": {kind: kindInt, i: 1}}}, want: 30 * 24 * time.Hour},
		{in: newString("30", pos{}), err: "a plain number is not a duration"},
		{in: newString("-5s", pos{}), err: "negative durations are not allowed"},
		{in: newString("P", pos{}), err: "invalid ISO format, no values given"},
		{in: newString("PT", pos{}), err: "invalid ISO format, expected"},
		{in: newString("soon", pos{}), err: `"soon" is not a valid duration`},
		{in: &node{kind: kindInt, i: 30}, err: "expected a duration such as"},
		{in: &node{kind: kindMap, vals: map[string]*node{}}, err: "needs one or more of"},
		{in: &node{kind: kindMap, keys: []string{"secs"}, vals: map[string]*node{"secs": {kind: kindInt, i: 1}}}, err: "unknown property 'secs'"},
		{in: &node{kind: kindMap, keys: []string{"seconds"}, vals: map[string]*node{"seconds": {kind: kindBool, b: true}}}, err: "seconds: expected a number, got true"},
	}
	for _, tt := range tests {
		t.Run(tt.in.describe(), func(t *testing.T) {
			got, err := parseDuration(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseDuration = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
