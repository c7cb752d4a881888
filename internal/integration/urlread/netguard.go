package urlread

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// maxRedirects is how many redirects one request follows.
const maxRedirects = 5

// special are the IPv4 and IPv6 ranges that are not the public internet,
// beyond what netip's predicates name, with the word used in messages.
var special = []struct {
	prefix netip.Prefix
	kind   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible (deprecated)"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated)"},
}

// nat64 and sixToFour embed an IPv4 address, which is checked in turn.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// classify returns what kind of non-public address ip is, or "" for a
// public unicast address. IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) are
// judged as the IPv4 address they carry, and so are NAT64 and 6to4 ones.
func classify(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	case ip.Is4() && ip.IsPrivate():
		return "private"
	case ip.Is6() && ip.IsPrivate():
		return "unique-local"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, s := range special {
		if s.prefix.Contains(ip) {
			return s.kind
		}
	}
	if ip.Is6() && (nat64.Contains(ip) || sixToFour.Contains(ip)) {
		b := ip.As16()
		var v4 [4]byte
		if nat64.Contains(ip) {
			copy(v4[:], b[12:16])
		} else {
			copy(v4[:], b[2:6])
		}
		if k := classify(netip.AddrFrom4(v4)); k != "" {
			return k + " (embedded in " + ip.String() + ")"
		}
	}
	return ""
}

// blockedError is a refused connection to a non-public address.
type blockedError struct {
	addr string // ip:port as dialled
	kind string
}

func (e *blockedError) Error() string {
	return fmt.Sprintf("refusing to connect to %s, a %s address", e.addr, e.kind)
}

// guard is a net.Dialer Control function: it runs after name resolution,
// for every address tried, so neither DNS answers nor redirects get past
// it.
func guard(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &blockedError{addr: address, kind: "unparseable"}
	}
	if k := classify(ap.Addr()); k != "" {
		return &blockedError{addr: address, kind: k}
	}
	return nil
}

// newTransport returns a transport that dials with connectTimeout and,
// when guarded, refuses non-public addresses. Proxies from the
// environment are not used: the guard must see the address it connects
// to.
func newTransport(connectTimeout time.Duration, guarded bool) *http.Transport {
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	if guarded {
		d.Control = guard
	}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           32,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    connectTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// router sends requests for URLs allowed to reach private addresses through
// an unguarded transport and all others through the guarded one. It runs
// for every hop of a redirect chain, so a redirect from an allowed URL to
// one that is not is dialled through the guard.
type router struct {
	open, guarded http.RoundTripper
	allowed       func(*url.URL) bool
}

func (rt *router) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt.allowed(req.URL) {
		return rt.open.RoundTrip(req)
	}
	return rt.guarded.RoundTrip(req)
}

// redirectError stops a redirect chain.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// checkRedirect follows at most maxRedirects http(s) redirects and drops
// credentials when a redirect leaves the first host or downgrades to http.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return &redirectError{msg: fmt.Sprintf("stopped after %d redirects", maxRedirects)}
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return &redirectError{msg: fmt.Sprintf("redirected to %s, which is not an http(s) URL", displayURL(req.URL))}
	}
	first := via[0].URL
	if hostKey(req.URL) != hostKey(first) || (first.Scheme == "https" && req.URL.Scheme == "http") {
		req.Header.Del("Authorization")
	}
	return nil
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
