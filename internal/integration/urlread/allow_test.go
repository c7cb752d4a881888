package urlread

import (
	"net/netip"
	"strings"
	"testing"

	"greenroom/internal/config"
)

func TestAllowRuleMatch(t *testing.T) {
	tests := []struct {
		host  string
		paths []string
		url   string
		want  bool
	}{
		{host: "example.com", url: "https://example.com/x.yaml", want: true},
		{host: "example.com", url: "https://EXAMPLE.com/x.yaml", want: true},
		{host: "example.com", url: "https://example.com:443/x.yaml", want: true}, // the default port counts as none
		{host: "example.com", url: "http://example.com:80/x.yaml", want: true},
		{host: "example.com", url: "https://example.com:8443/x.yaml", want: false},
		{host: "example.com", url: "https://www.example.com/x.yaml", want: false},
		{host: "example.com", url: "https://example.com.evil.dev/x.yaml", want: false},
		{host: "*.internal.acme.dev", url: "https://git.internal.acme.dev/x", want: true},
		{host: "*.internal.acme.dev", url: "https://a.b.internal.acme.dev/x", want: true},
		{host: "*.internal.acme.dev", url: "https://internal.acme.dev/x", want: false},
		{host: "*.internal.acme.dev", url: "https://evilinternal.acme.dev/x", want: false},
		{host: "localhost:8080", url: "http://localhost:8080/x", want: true},
		{host: "localhost:8080", url: "http://localhost/x", want: false},
		{host: "localhost:8080", url: "http://localhost:8081/x", want: false},
		{host: "localhost:80", url: "http://localhost/x", want: true}, // an explicit port matches the scheme's default
		{host: "localhost:8000-8080", url: "http://localhost:8042/x", want: true},
		{host: "localhost:8000-8080", url: "http://localhost:8081/x", want: false},
		{host: "[::1]:9000", url: "http://[::1]:9000/x", want: true},
		{host: "localhost:8080", paths: []string{"/catalog/"}, url: "http://localhost:8080/catalog/all.yaml", want: true},
		{host: "localhost:8080", paths: []string{"/catalog/"}, url: "http://localhost:8080/catalog/", want: true},
		{host: "localhost:8080", paths: []string{"/catalog/"}, url: "http://localhost:8080/catalog", want: false},
		{host: "localhost:8080", paths: []string{"/catalog/"}, url: "http://localhost:8080/other.yaml", want: false},
		{host: "localhost:8080", paths: []string{"/catalog/"}, url: "http://localhost:8080/catalog/../secret", want: false},
		{host: "localhost:8080", paths: []string{"/catalog/"}, url: "http://localhost:8080/catalog/%2e%2e/secret", want: false},
		{host: "localhost:8080", paths: []string{"/catalog/"}, url: "http://localhost:8080/catalog%2F..%2Fsecret", want: false},
		{host: "localhost:8080", paths: []string{"/catalog/"}, url: "http://localhost:8080//catalog//x.yaml", want: true},
		{host: "localhost:8080", paths: []string{"/a/", "/b/"}, url: "http://localhost:8080/b/x", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.host+" "+tt.url, func(t *testing.T) {
			rules, err := newAllowRules(config.Reading{Allow: []config.ReadingAllow{{Host: tt.host, Paths: tt.paths}}})
			if err != nil {
				t.Fatal(err)
			}
			u, err := parseURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := rules[0].match(u); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/": "/", "/a/b": "/a/b", "/a/b/": "/a/b/", "//a//b/": "/a/b/", "/a/../b": "/b", "/a/./b/.": "/a/b",
		"/../..": "/", "/a/..": "/", "/a/../": "/",
	} {
		if got := normalizePath(in); got != want {
			t.Errorf("normalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		ip   string
		want string // "" for public
	}{
		{"8.8.8.8", ""},
		{"140.82.112.3", ""},
		{"2606:4700::1111", ""},
		{"127.0.0.1", "loopback"},
		{"127.255.0.9", "loopback"},
		{"::1", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"172.32.0.1", ""},
		{"192.168.1.1", "private"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fc00::1", "unique-local"},
		{"fd12:3456::1", "unique-local"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"0.1.2.3", `"this network"`},
		{"100.64.0.1", "shared (carrier-grade NAT)"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"198.18.0.1", "benchmarking"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.0.0.1", "private"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:8.8.8.8", ""},
		{"::7f00:1", "IPv4-compatible (deprecated)"},
		{"64:ff9b::a9fe:a9fe", "link-local (embedded in 64:ff9b::a9fe:a9fe)"},
		{"64:ff9b::808:808", ""},
		{"2002:c0a8:0101::1", "private (embedded in 2002:c0a8:101::1)"},
		{"2002:0808:0808::1", ""},
		{"fec0::1", "site-local (deprecated)"},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := classify(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Errorf("classify(%s) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}

func TestGuard(t *testing.T) {
	if err := guard("tcp4", "140.82.112.3:443", nil); err != nil {
		t.Errorf("public address refused: %v", err)
	}
	err := guard("tcp6", "[::ffff:127.0.0.1]:8080", nil)
	if err == nil || !strings.Contains(err.Error(), "refusing to connect to [::ffff:127.0.0.1]:8080, a loopback address") {
		t.Errorf("guard = %v", err)
	}
	if err := guard("tcp", "not-an-address", nil); err == nil {
		t.Error("an unparseable address must be refused")
	}
}
