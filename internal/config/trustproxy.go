package config

import (
	"net/netip"
	"slices"
)

// TrustProxy is backend.trustProxy, Express's "trust proxy" setting as
// Backstage's root HTTP router passes it on: which peers may tell the
// client's address through X-Forwarded-For. The zero value trusts none
// (the client is the connection's peer), as when the key is absent.
type TrustProxy struct {
	// All is `true`: every peer is trusted, so the client is the left-most
	// X-Forwarded-For entry.
	All bool
	// Hops is a number: the client is that many hops away (the peer is
	// hop 0, then X-Forwarded-For from right to left).
	Hops int
	// Trusted are addresses and subnets (a string of them separated by
	// commas, or a list), with Express's names loopback, linklocal and
	// uniquelocal expanded.
	Trusted []netip.Prefix
}

// Enabled reports whether any forwarded address is believed.
func (t TrustProxy) Enabled() bool { return t.All || t.Hops > 0 || len(t.Trusted) > 0 }

// trustProxyNames are the subnet names of Express's proxy-addr.
var trustProxyNames = map[string][]string{
	"loopback":    {"127.0.0.1/8", "::1/128"},
	"linklocal":   {"169.254.0.0/16", "fe80::/10"},
	"uniquelocal": {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"},
}

const trustProxyExpected = "true, false, a number of hops, or addresses/subnets (loopback, linklocal, uniquelocal, 10.0.0.0/8, …)"

// trustProxy reads backend.trustProxy.
func (d *decoder) trustProxy(n *node, dst *TrustProxy) {
	if !set(n) {
		return
	}
	const path = "backend.trustProxy"
	switch n.kind {
	case kindBool:
		dst.All = n.b
		return
	case kindInt:
		if n.i < 0 || n.i > 64 {
			d.ps.expected(n.pos, path, "a number of hops between 0 and 64", n)
			return
		}
		dst.Hops = int(n.i)
		return
	case kindString, kindSeq:
	default:
		d.ps.expected(n.pos, path, trustProxyExpected, n)
		return
	}
	var out []netip.Prefix
	for _, v := range d.stringOrList(n, path) {
		cidrs, named := trustProxyNames[v]
		if !named {
			cidrs = []string{v}
		}
		for _, c := range cidrs {
			p, err := parsePrefixOrAddr(c)
			if err != nil {
				d.ps.expected(n.pos, path, trustProxyExpected, newString(v, n.pos))
				return
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	dst.Trusted = out
}

// parsePrefixOrAddr reads "10.0.0.0/8" or a single address (a /32 or /128).
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// dump renders the setting the way it was read (subnet names expanded).
func (t TrustProxy) dump(b *treeBuilder) {
	const path = "backend.trustProxy"
	switch {
	case t.All:
		b.set(path, &node{kind: kindBool, b: true})
	case t.Hops > 0:
		b.int(path, int64(t.Hops))
	case len(t.Trusted) > 0:
		seq := &node{kind: kindSeq}
		for _, p := range t.Trusted {
			seq.items = append(seq.items, newString(p.String(), pos{}))
		}
		b.set(path, seq)
	}
}
