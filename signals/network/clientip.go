package network

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"
)

// Proxies is the set of trusted proxies: the load balancers and reverse
// proxies in front of the auth server whose forwarding headers are believed.
// The zero value (and nil) trusts nobody, so forwarding headers are ignored
// and the address the auth server saw is the client.
type Proxies struct {
	table *bart.Lite
	n     int
}

// ParseProxies reads CIDRs or single addresses. Errors name the entry.
func ParseProxies(entries []string) (*Proxies, error) {
	p := &Proxies{table: new(bart.Lite)}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		pfx, err := parsePrefix(e)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", e, err)
		}
		p.table.Insert(pfx)
		p.n++
	}
	return p, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, errors.New("not a CIDR")
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an address or CIDR")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Len returns the number of trusted entries.
func (p *Proxies) Len() int {
	if p == nil {
		return 0
	}
	return p.n
}

// Trusted reports whether a is a trusted proxy.
func (p *Proxies) Trusted(a netip.Addr) bool {
	return p != nil && p.table != nil && p.table.Lookup(a.Unmap())
}

// ErrBadHop is returned, wrapped, when a forwarding header holds an entry
// that is not an address where the walk needed one.
var ErrBadHop = errors.New("malformed forwarding entry")

// ClientIP finds the client behind the trusted proxies. peer is the address
// the auth server saw; xff is the raw X-Forwarded-For value (several header
// lines joined by commas); forwarded is the raw RFC 7239 Forwarded value.
// The walk starts at the peer and goes right to left through the hops while
// each hop is a trusted proxy; the first untrusted hop is the client.
// Entries left of it are never read, so a spoofed leftmost value is never
// believed. When both headers are given, Forwarded is used.
//
// On a malformed hop the last good address is returned with an error
// wrapping ErrBadHop: the caller should use the address (it is the best
// known) and count the problem.
func (p *Proxies) ClientIP(peer netip.Addr, xff, forwarded string) (netip.Addr, error) {
	client := peer.Unmap()
	if !p.Trusted(client) {
		return client, nil
	}
	var hops []string
	if strings.TrimSpace(forwarded) != "" {
		hops = forwardedFor(forwarded)
	} else {
		hops = strings.Split(xff, ",")
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		a, err := ParseHop(h)
		if err != nil {
			return client, fmt.Errorf("%w: %v", ErrBadHop, err)
		}
		client = a
		if !p.Trusted(a) {
			return client, nil
		}
	}
	return client, nil
}

// ParseHop reads one forwarding entry: an address with an optional port,
// brackets around IPv6, an IPv6 zone, or quotes (Forwarded).
func ParseHop(h string) (netip.Addr, error) {
	h = strings.Trim(strings.TrimSpace(h), `"`)
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().WithZone("").Unmap(), nil
	}
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return netip.Addr{}, fmt.Errorf("%q has no closing bracket", clip(h))
		}
		h = h[1:end]
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		h = h[:i] // IPv4 with a port that ParseAddrPort refused
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an address", clip(h))
	}
	return a.WithZone("").Unmap(), nil
}

// forwardedFor extracts the for= values of an RFC 7239 Forwarded header, in
// order. Elements without for= (or with an obfuscated identifier such as
// "_hidden" or "unknown") are kept as such so the walk stops at them.
func forwardedFor(v string) []string {
	var out []string
	for _, elem := range strings.Split(v, ",") {
		for _, pair := range strings.Split(elem, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if ok && strings.EqualFold(k, "for") {
				out = append(out, val)
			}
		}
	}
	return out
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
