package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// The client address follows Express's "trust proxy" (proxy-addr): the
// peer, then X-Forwarded-For right to left, the first untrusted one wins.
func TestTrustProxyClientAddr(t *testing.T) {
	loop := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	private := append(loop, netip.MustParsePrefix("10.0.0.0/8"))
	tests := []struct {
		name  string
		trust TrustProxy
		peer  string
		xff   []string
		want  string
	}{
		{"no trust ignores the header", TrustProxy{}, "127.0.0.1:5000", []string{"203.0.113.7"}, "127.0.0.1"},
		{"true takes the left-most", TrustProxy{All: true}, "127.0.0.1:5000", []string{"198.51.100.1, 10.0.0.2"}, "198.51.100.1"},
		{"one hop takes the right-most", TrustProxy{Hops: 1}, "10.0.0.9:5000", []string{"198.51.100.1, 10.0.0.2"}, "10.0.0.2"},
		{"two hops", TrustProxy{Hops: 2}, "10.0.0.9:5000", []string{"198.51.100.1, 10.0.0.2"}, "198.51.100.1"},
		{"more hops than entries", TrustProxy{Hops: 5}, "10.0.0.9:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"subnets stop at the first untrusted", TrustProxy{Trusted: loop}, "127.0.0.1:5000", []string{"198.51.100.1, 10.0.0.2"}, "10.0.0.2"},
		{"wider subnets go further", TrustProxy{Trusted: private}, "127.0.0.1:5000", []string{"198.51.100.1, 10.0.0.2"}, "198.51.100.1"},
		{"spoofed entries left of the client are ignored", TrustProxy{Trusted: loop}, "127.0.0.1:5000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"an untrusted peer is the client", TrustProxy{Trusted: loop}, "203.0.113.5:5000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"several headers are one list", TrustProxy{All: true}, "127.0.0.1:5000", []string{"198.51.100.1", "10.0.0.2"}, "198.51.100.1"},
		{"a malformed entry ends the walk", TrustProxy{All: true}, "127.0.0.1:5000", []string{"evil, 198.51.100.1"}, "198.51.100.1"},
		{"IPv6 peer", TrustProxy{Trusted: loop}, "[::1]:5000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"mapped IPv4 peer", TrustProxy{Trusted: loop}, "[::ffff:127.0.0.1]:5000", []string{"198.51.100.1"}, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got, _ := tt.trust.ClientAddr(r)
			if got.String() != tt.want {
				t.Errorf("client %s, want %s", got, tt.want)
			}
		})
	}
}

// Through the server's middleware, handlers see the client in RemoteAddr
// and the access log names both the client and the proxy.
func TestTrustProxyMiddleware(t *testing.T) {
	var logged bytes.Buffer
	var seen, peer string
	h := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, peer = r.RemoteAddr, Peer(r)
	}), Options{Logger: slog.New(slog.NewTextHandler(&logged, nil)),
		TrustProxy: TrustProxy{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}).Handler()
	r := httptest.NewRequest("GET", "/x", nil)
	r.RemoteAddr = "127.0.0.1:41000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if seen != "198.51.100.1:0" || peer != "127.0.0.1:41000" {
		t.Errorf("handler saw RemoteAddr %q, peer %q", seen, peer)
	}
	if log := logged.String(); !strings.Contains(log, "remote=198.51.100.1:0") || !strings.Contains(log, "peer=127.0.0.1:41000") {
		t.Errorf("access log:\n%s", log)
	}
	// Without a trusted peer the header changes nothing.
	r = httptest.NewRequest("GET", "/x", nil)
	r.RemoteAddr = "203.0.113.5:41000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if seen != "203.0.113.5:41000" || peer != seen {
		t.Errorf("untrusted peer: handler saw %q, peer %q", seen, peer)
	}
}
