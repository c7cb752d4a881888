package server

import (
	"net/http"
	"net/netip"
	"strings"
)

// TrustProxy decides which peers may tell the client's address through
// X-Forwarded-For, with the semantics of Express's "trust proxy" (which
// Backstage's backend.trustProxy sets): the addresses are the connection's
// peer, then the X-Forwarded-For entries from right to left; the client is
// the first of them that is not trusted, or the last when all are. The zero
// value trusts nobody.
type TrustProxy struct {
	// All trusts every address: the client is the left-most entry.
	All bool
	// Hops trusts the first Hops addresses (the peer is the first).
	Hops int
	// Trusted trusts the addresses in these subnets.
	Trusted []netip.Prefix
}

// maxForwardedEntries bounds how many X-Forwarded-For entries are read; a
// longer chain is cut to its right-most (nearest) entries.
const maxForwardedEntries = 32

func (t TrustProxy) enabled() bool { return t.All || t.Hops > 0 || len(t.Trusted) > 0 }

func (t TrustProxy) trusts(a netip.Addr, hop int) bool {
	switch {
	case t.All:
		return true
	case t.Hops > 0:
		return hop < t.Hops
	}
	for _, p := range t.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the client's IP address for r, and whether it differs
// from the peer's. Malformed X-Forwarded-For entries end the walk: the
// last well-formed address before them is the client.
func (t TrustProxy) ClientAddr(r *http.Request) (netip.Addr, bool) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	client := peer.Addr().Unmap()
	if !t.enabled() || !t.trusts(client, 0) {
		return client, false
	}
	entries := forwardedFor(r.Header.Values("X-Forwarded-For"))
	for hop, i := 1, len(entries)-1; i >= 0; hop, i = hop+1, i-1 {
		a, err := netip.ParseAddr(strings.TrimSpace(entries[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !t.trusts(client, hop) {
			break
		}
	}
	return client, client != peer.Addr().Unmap()
}

// forwardedFor splits the X-Forwarded-For headers into their entries, in
// order, keeping only the right-most maxForwardedEntries.
func forwardedFor(headers []string) []string {
	var out []string
	for _, h := range headers {
		for e := range strings.SplitSeq(h, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	if len(out) > maxForwardedEntries {
		out = out[len(out)-maxForwardedEntries:]
	}
	return out
}

// Peer returns the address of the connection's peer (the proxy) when
// RemoteAddr carries a forwarded client address, else r.RemoteAddr.
func Peer(r *http.Request) string {
	if rec, ok := r.Context().Value(recordKey{}).(*accessRecord); ok && rec.peer != "" {
		return rec.peer
	}
	return r.RemoteAddr
}
