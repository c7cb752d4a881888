package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTrustProxy(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name    string
		yaml    string
		want    TrustProxy
		problem string
	}{
		{"absent", "", TrustProxy{}, ""},
		{"true", "true", TrustProxy{All: true}, ""},
		{"false", "false", TrustProxy{}, ""},
		{"hops", "2", TrustProxy{Hops: 2}, ""},
		{"names and addresses", `"loopback, 10.1.2.3"`, TrustProxy{Trusted: []netip.Prefix{p("127.0.0.0/8"), p("::1/128"), p("10.1.2.3/32")}}, ""},
		{"list", "[uniquelocal, 2001:db8::/32]", TrustProxy{Trusted: []netip.Prefix{p("10.0.0.0/8"), p("172.16.0.0/12"),
			p("192.168.0.0/16"), p("fc00::/7"), p("2001:db8::/32")}}, ""},
		{"negative hops", "-1", TrustProxy{}, "backend.trustProxy: expected a number of hops between 0 and 64"},
		{"bad address", `"loopback, proxy.internal"`, TrustProxy{}, `backend.trustProxy: expected true, false, a number of hops, or addresses/subnets`},
		{"mapping", "{a: b}", TrustProxy{}, "backend.trustProxy: expected true, false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "app-config.yaml")
			body := "backend:\n  baseUrl: http://localhost:7007\n"
			if tt.yaml != "" {
				body += "  trustProxy: " + tt.yaml + "\n"
			}
			if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			c, r, err := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
			got := strings.Join(lines(r, SeverityWarning), "\n")
			if tt.problem != "" {
				if err == nil || !strings.Contains(got, tt.problem) || !strings.Contains(got, f+":3:") {
					t.Fatalf("want a located problem %q, got err %v:\n%s", tt.problem, err, got)
				}
				return
			}
			if err != nil || got != "" {
				t.Fatalf("Load: %v\n%s", err, got)
			}
			tp := c.Backend.TrustProxy
			if tp.All != tt.want.All || tp.Hops != tt.want.Hops || !slices.Equal(tp.Trusted, tt.want.Trusted) {
				t.Errorf("got %+v, want %+v", tp, tt.want)
			}
		})
	}
}
