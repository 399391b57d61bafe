package geo

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Network is the autonomous system an address is announced from.
type Network struct {
	ASN uint32
	Org string
}

// ASNDB answers which autonomous system an address belongs to. It holds
// sorted, non-overlapping address ranges per family and finds one by binary
// search, so a lookup allocates nothing. It is immutable once opened and so
// safe for concurrent use.
type ASNDB struct {
	v4 rangesV4
	v6 rangesV6
	// orgs holds each distinct organisation name once; ranges refer to it by
	// index. The real data has about 80,000 names for 515,000 ranges.
	orgs []string
	// trimmed counts ranges cut short because the next range started
	// inside them.
	trimmed int
	info    string
}

// rangeInfo is what a range maps to. Keeping it apart from the start keys lets
// the binary search walk a dense array of keys only.
type rangeInfo[K any] struct {
	end K
	asn uint32
	org uint32
}

type rangesV4 struct {
	starts []uint32
	infos  []rangeInfo[uint32]
}

// u128 is an IPv6 address as a big-endian pair, comparable as integers.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) compare(b u128) int {
	switch {
	case a.less(b):
		return -1
	case b.less(a):
		return 1
	}
	return 0
}

type rangesV6 struct {
	starts []u128
	infos  []rangeInfo[u128]
}

func keyV4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func keyV6(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// Lookup returns the network a belongs to. It reports false when no range
// holds a, and for AS0, which marks space that nobody announces (RFC 7607).
// IPv4-mapped IPv6 addresses are looked up as IPv4.
func (d *ASNDB) Lookup(a netip.Addr) (Network, bool) {
	a = a.Unmap()
	var asn, org uint32
	switch {
	case a.Is4():
		k := keyV4(a)
		s := d.v4.starts
		i := upper(len(s), func(i int) bool { return k < s[i] }) - 1
		if i < 0 || k > d.v4.infos[i].end {
			return Network{}, false
		}
		asn, org = d.v4.infos[i].asn, d.v4.infos[i].org
	case a.Is6():
		k := keyV6(a)
		s := d.v6.starts
		i := upper(len(s), func(i int) bool { return k.less(s[i]) }) - 1
		if i < 0 || d.v6.infos[i].end.less(k) {
			return Network{}, false
		}
		asn, org = d.v6.infos[i].asn, d.v6.infos[i].org
	default:
		return Network{}, false
	}
	if asn == 0 {
		return Network{}, false
	}
	return Network{ASN: asn, Org: d.orgs[org]}, true
}

// upper returns the first index in [0, n) for which after is true, or n. after
// must be false for a prefix of the indexes and true for the rest. It is
// sort.Search written out so that the compiler inlines the closure and the
// lookup stays free of allocations.
func upper(n int, after func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if after(m) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// Len returns the number of ranges held, IPv4 and IPv6 together.
func (d *ASNDB) Len() int { return len(d.v4.starts) + len(d.v6.starts) }

// Info describes the opened data for logs and health output, for example
// "asn-csv: 411961 ipv4 + 103197 ipv6 ranges, 81276 organisations, 1
// overlapping ranges trimmed". The overlap count is there so that a data release with many
// overlapping ranges shows in the log.
func (d *ASNDB) Info() string { return d.info }

func (d *ASNDB) describe(kind string) {
	d.info = fmt.Sprintf("%s: %d ipv4 + %d ipv6 ranges, %d organisations",
		kind, len(d.v4.starts), len(d.v6.starts), len(d.orgs))
	if d.trimmed > 0 {
		d.info += fmt.Sprintf(", %d overlapping ranges trimmed", d.trimmed)
	}
}
