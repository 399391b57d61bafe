// Package network computes the address signals that need no database: which
// kind of range an address is in (private, CGNAT, loopback, reserved…), the
// network prefix it is counted under for velocity, and the real client
// address behind trusted proxies. The engine runs it first, before geo and
// list lookups, which are skipped for addresses that are not public.
package network

import (
	"net/netip"
)

// Kinds of address, the values of the ip.kind signal.
const (
	Public      = "public"
	Private     = "private"
	Loopback    = "loopback"
	CGNAT       = "cgnat"
	LinkLocal   = "link_local"
	Multicast   = "multicast"
	Unspecified = "unspecified"
	Reserved    = "reserved"
)

type special struct {
	prefix netip.Prefix
	kind   string
}

// specials are the ranges that are not public unicast, from the IANA IPv4
// and IPv6 special-purpose address registries (RFC 6890 and successors).
var specials = func() []special {
	list := []struct{ p, kind string }{
		{"0.0.0.0/8", Unspecified},
		{"10.0.0.0/8", Private},
		{"100.64.0.0/10", CGNAT},
		{"127.0.0.0/8", Loopback},
		{"169.254.0.0/16", LinkLocal},
		{"172.16.0.0/12", Private},
		{"192.0.0.0/24", Reserved},
		{"192.0.2.0/24", Reserved},   // TEST-NET-1
		{"192.88.99.0/24", Reserved}, // 6to4 relay anycast
		{"192.168.0.0/16", Private},
		{"198.18.0.0/15", Reserved},   // benchmarking
		{"198.51.100.0/24", Reserved}, // TEST-NET-2
		{"203.0.113.0/24", Reserved},  // TEST-NET-3
		{"224.0.0.0/4", Multicast},
		{"240.0.0.0/4", Reserved},
		{"255.255.255.255/32", Reserved},
		{"::/128", Unspecified},
		{"::1/128", Loopback},
		{"64:ff9b:1::/48", Reserved},
		{"100::/64", Reserved}, // discard-only
		{"2001::/23", Reserved},
		{"2001:db8::/32", Reserved}, // documentation
		{"3fff::/20", Reserved},     // documentation
		{"fc00::/7", Private},       // unique local (ULA)
		{"fe80::/10", LinkLocal},
		{"fec0::/10", Reserved}, // deprecated site-local
		{"ff00::/8", Multicast},
	}
	out := make([]special, len(list))
	for i, s := range list {
		out[i] = special{netip.MustParsePrefix(s.p), s.kind}
	}
	return out
}()

// Teredo (2001::/32) and ORCHID sit inside 2001::/23 but are globally
// routed or special in ways that do not make an address public either; they
// stay reserved.

// Kind classifies an address. IPv4-mapped IPv6 addresses are classified as
// the IPv4 address they carry.
func Kind(a netip.Addr) string {
	a = a.Unmap()
	if !a.IsValid() {
		return Unspecified
	}
	for _, s := range specials {
		if s.prefix.Contains(a) {
			return s.kind
		}
	}
	if a.Is6() && !inGlobalUnicast(a) {
		return Reserved
	}
	return Public
}

var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// inGlobalUnicast reports whether an IPv6 address is in the only range IANA
// allocates to the public internet; everything outside 2000::/3 that is not
// listed above is unassigned.
func inGlobalUnicast(a netip.Addr) bool { return globalUnicast6.Contains(a) }

// IsPublic reports whether a is a public unicast address.
func IsPublic(a netip.Addr) bool { return Kind(a) == Public }

// Prefix returns the network an address is counted under: its /v4Bits for
// IPv4 and /v6Bits for IPv6 (24 and 64 by default).
func Prefix(a netip.Addr, v4Bits, v6Bits int) netip.Prefix {
	a = a.Unmap()
	bits := v6Bits
	if a.Is4() {
		bits = v4Bits
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.PrefixFrom(a, a.BitLen())
	}
	return p
}

// PrefixKind reports the kind of the first special range that p overlaps,
// or Public when p lies wholly in public unicast space. A prefix that
// contains a special range (0.0.0.0/0, 96.0.0.0/3) is not public either:
// list loaders use this to refuse blocklist entries that would catch
// private, CGNAT or reserved addresses.
func PrefixKind(p netip.Prefix) string {
	if !p.IsValid() {
		return Unspecified
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	for _, s := range specials {
		if s.prefix.Overlaps(p) {
			return s.kind
		}
	}
	if p.Addr().Is6() && (p.Bits() < globalUnicast6.Bits() || !globalUnicast6.Contains(p.Addr())) {
		return Reserved
	}
	return Public
}
