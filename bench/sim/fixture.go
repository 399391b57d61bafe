package sim

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/gaissmai/bart"

	"github.com/verdictrisk/verdict/signals/geo"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// The fixture world: a small but varied world written with the geotest
// builders, for tests and for tools run without reference data. Twelve
// cities in nine countries; each country has three consumer providers,
// each with eight networks per city (and IPv6 for some), hosting networks
// and, in four countries, VPN exits. The providers and their blocks are
// real consumer ones and the hosting and VPN blocks are on the lists in
// the shared data folder (a test checks both), so that list-based network
// signals read the fixture as they read real traffic. Places and
// operators of the blocks are as the fixture says, not as in the real
// data.

// fixtureISP is a consumer provider of a fixture country.
type fixtureISP struct {
	asn uint32
	org string
	// v4 holds one /16 per city of the country, in order.
	v4 []string
	// v6 is a /32 for the country, split into a /40 per city; empty for
	// an IPv4-only provider.
	v6 string
}

// fixtureNet is a hosting or VPN block in one city of a country.
type fixtureNet struct {
	city   int // index into the country's cities
	prefix string
	asn    uint32
	org    string
}

type fixtureCountry struct {
	code, region string
	cities       []string // names of cities in citySpecs
	isps         []fixtureISP
	hosting, vpn []fixtureNet
}

const (
	m247    = "M247 Europe SRL"
	amazon  = "Amazon.com, Inc."
	ovh     = "OVH SAS"
	hetzner = "Hetzner Online GmbH"
)

var fixtureCountries = []fixtureCountry{
	{"DE", "Berlin", []string{"Berlin", "Hamburg"}, []fixtureISP{
		{3320, "Deutsche Telekom AG", []string{"93.192.0.0/16", "79.192.0.0/16"}, "2003:e0::/32"},
		{3209, "Vodafone GmbH", []string{"88.64.0.0/16", "92.72.0.0/16"}, "2a02:8100::/32"},
		{6805, "Telefonica Germany GmbH & Co.OHG", []string{"85.176.0.0/16", "77.0.0.0/16"},
			"2a01:598::/32"},
	}, []fixtureNet{{0, "88.198.0.0/16", 24940, hetzner}},
		[]fixtureNet{{0, "37.120.192.0/20", 9009, m247}}},
	{"GB", "England", []string{"London", "Manchester"}, []fixtureISP{
		{2856, "British Telecommunications PLC", []string{"86.128.0.0/16", "81.128.0.0/16"},
			"2a00:23c0::/32"},
		{5089, "Virgin Media Limited", []string{"82.0.0.0/16", "86.0.0.0/16"}, "2a02:c7f::/32"},
		{5607, "Sky UK Limited", []string{"90.192.0.0/16", "2.96.0.0/16"}, ""},
	}, []fixtureNet{{0, "51.68.0.0/16", 16276, ovh}},
		[]fixtureNet{{0, "37.120.144.0/20", 9009, m247}}},
	{"US", "New York", []string{"New York", "Los Angeles"}, []fixtureISP{
		{7922, "Comcast Cable Communications, LLC", []string{"24.0.0.0/16", "73.0.0.0/16"},
			"2601::/32"},
		{701, "Verizon Business", []string{"71.160.0.0/16", "96.224.0.0/16"}, "2600:4000::/32"},
		{21928, "T-Mobile USA, Inc.", []string{"172.56.0.0/16", "172.58.0.0/16"},
			"2607:fb90::/32"},
	}, []fixtureNet{{0, "167.99.0.0/16", 14061, "DigitalOcean, LLC"},
		{1, "3.80.0.0/14", 16509, amazon}},
		[]fixtureNet{{0, "38.132.96.0/19", 9009, m247}}},
	{"FR", "Ile-de-France", []string{"Paris"}, []fixtureISP{
		{3215, "Orange S.A.", []string{"90.0.0.0/16"}, "2a01:cb00::/32"},
		{12322, "Free SAS", []string{"82.64.0.0/16"}, "2a01:e00::/32"},
		{15557, "Societe Francaise du Radiotelephone - SFR SA", []string{"109.0.0.0/16"}, ""},
	}, []fixtureNet{{0, "54.36.0.0/16", 16276, ovh}},
		[]fixtureNet{{0, "5.157.192.0/19", 9009, m247}}},
	{"ES", "Madrid", []string{"Madrid"}, []fixtureISP{
		{3352, "Telefonica de Espana S.A.U.", []string{"83.32.0.0/16"}, ""},
		{12479, "Orange Espagne SA", []string{"90.160.0.0/16"}, ""},
		{12430, "Vodafone Espana S.A.U.", []string{"31.4.0.0/16"}, ""},
	}, []fixtureNet{{0, "95.216.0.0/16", 24940, hetzner}}, nil},
	{"BR", "Sao Paulo", []string{"São Paulo"}, []fixtureISP{
		{28573, "Claro NXT Telecomunicacoes Ltda", []string{"177.32.0.0/16"}, "2804:14c::/32"},
		{26599, "Telefonica Brasil S.A.", []string{"189.0.0.0/16"}, ""},
		{26615, "TIM S/A", []string{"187.0.0.0/16"}, ""},
	}, []fixtureNet{{0, "18.228.0.0/16", 16509, amazon}}, nil},
	{"JP", "Tokyo", []string{"Tokyo"}, []fixtureISP{
		{2516, "KDDI CORPORATION", []string{"14.8.0.0/16"}, "2001:268::/32"},
		{4713, "NTT Communications Corporation", []string{"153.128.0.0/16"}, ""},
		{17676, "SoftBank Corp.", []string{"126.0.0.0/16"}, ""},
	}, []fixtureNet{{0, "13.112.0.0/14", 16509, amazon}}, nil},
	{"AU", "New South Wales", []string{"Sydney"}, []fixtureISP{
		{1221, "Telstra Limited", []string{"1.120.0.0/16"}, "2001:8003::/32"},
		{4804, "Optus Internet", []string{"49.176.0.0/16"}, ""},
		{7545, "TPG Telecom Limited", []string{"110.20.0.0/16"}, ""},
	}, []fixtureNet{{0, "13.236.0.0/14", 16509, amazon}}, nil},
	{"IN", "Maharashtra", []string{"Mumbai"}, []fixtureISP{
		{55836, "Reliance Jio Infocomm Limited", []string{"49.32.0.0/16"}, "2405:200::/32"},
		{24560, "Bharti Airtel Ltd.", []string{"122.160.0.0/16"}, ""},
		{9829, "National Internet Backbone", []string{"117.192.0.0/16"}, ""},
	}, []fixtureNet{{0, "13.232.0.0/14", 16509, amazon}}, nil},
}

// fixtureSplit is how many networks each consumer block is cut into.
const fixtureSplit = 8

// Fixture describes the fixture written by WriteFixture.
type Fixture struct {
	// Dir holds the data files in the layout of `make data`.
	Dir string
	// Residential, Hosting and VPN are the fixture's blocks by kind.
	Residential, Hosting, VPN []netip.Prefix
}

// WorldOptions returns options that make BuildWorld read the fixture's
// hosting and VPN blocks as such, without any list file.
func (f Fixture) WorldOptions() WorldOptions {
	o := WorldOptions{BadASNs: map[uint32]bool{}, Datacenters: new(bart.Lite),
		VPNs: new(bart.Lite)}
	for _, c := range fixtureCountries {
		for _, n := range slices.Concat(c.hosting, c.vpn) {
			o.BadASNs[n.asn] = true
		}
	}
	for _, p := range f.Hosting {
		o.Datacenters.Insert(p)
	}
	for _, p := range f.VPN {
		o.Datacenters.Insert(p)
		o.VPNs.Insert(p)
	}
	return o
}

// WriteFixture writes the fixture world's data files into dir: the DB-IP
// City Lite and ip-location-db ASN layouts that BuildWorld and the engine
// read.
func WriteFixture(dir string) (Fixture, error) {
	f := Fixture{Dir: dir}
	var city4, city6 []geotest.City
	var asn4, asn6 []geotest.ASN
	// Each network of a block gets its own neighbourhood, a little off the
	// city centre, so that the writer keeps the networks apart.
	n := 0
	add := func(p netip.Prefix, spec *citySpec, region string, asn uint32, org string) {
		n++
		off := float64(n%17-8) * 0.004
		c := geotest.City{Prefix: p.String(), Country: spec.country, Region: region,
			City: spec.name, Lat: spec.lat + off, Lon: spec.lon - off}
		a := geotest.ASN{Prefix: p.String(), ASN: asn, Org: org}
		if p.Addr().Is4() {
			city4, asn4 = append(city4, c), append(asn4, a)
		} else {
			city6, asn6 = append(city6, c), append(asn6, a)
		}
	}
	for _, c := range fixtureCountries {
		specs := make([]*citySpec, len(c.cities))
		for i, name := range c.cities {
			j := slices.IndexFunc(citySpecs, func(s citySpec) bool { return s.name == name })
			if j < 0 {
				return f, fmt.Errorf("fixture: %s is not a city of the world", name)
			}
			specs[i] = &citySpecs[j]
		}
		for _, isp := range c.isps {
			for i, v4 := range isp.v4 {
				block := netip.MustParsePrefix(v4)
				f.Residential = append(f.Residential, block)
				for _, p := range split(block, fixtureSplit) {
					add(p, specs[i], c.region, isp.asn, isp.org)
				}
				if isp.v6 != "" {
					p := sixOf(netip.MustParsePrefix(isp.v6), i)
					f.Residential = append(f.Residential, p)
					add(p, specs[i], c.region, isp.asn, isp.org)
				}
			}
		}
		for _, n := range c.hosting {
			p := netip.MustParsePrefix(n.prefix)
			f.Hosting = append(f.Hosting, p)
			for _, q := range split(p, 4) {
				add(q, specs[n.city], c.region, n.asn, n.org)
			}
		}
		for _, n := range c.vpn {
			p := netip.MustParsePrefix(n.prefix)
			f.VPN = append(f.VPN, p)
			for _, q := range split(p, 4) {
				add(q, specs[n.city], c.region, n.asn, n.org)
			}
		}
	}
	// The real ASN files are sorted by range start; keep that.
	byStart := func(a, b geotest.ASN) int {
		return netip.MustParsePrefix(a.Prefix).Addr().Compare(netip.MustParsePrefix(b.Prefix).Addr())
	}
	slices.SortFunc(asn4, byStart)
	slices.SortFunc(asn6, byStart)
	for _, step := range []func() error{
		func() error { return geotest.WriteDBIPCity(filepath.Join(dir, geo.CityIPv4File), 4, city4) },
		func() error { return geotest.WriteDBIPCity(filepath.Join(dir, geo.CityIPv6File), 6, city6) },
		func() error { return geotest.WriteASNCSV(filepath.Join(dir, geo.ASNIPv4File), asn4) },
		func() error { return geotest.WriteASNCSV(filepath.Join(dir, geo.ASNIPv6File), asn6) },
	} {
		if err := step(); err != nil {
			return f, fmt.Errorf("fixture: %w", err)
		}
	}
	return f, nil
}

// split cuts an IPv4 block into n equal networks (n a power of two).
func split(p netip.Prefix, n int) []netip.Prefix {
	bits := p.Bits()
	for k := n; k > 1; k /= 2 {
		bits++
	}
	base := p.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(base[:])
	step := uint32(1) << (32 - bits)
	out := make([]netip.Prefix, n)
	for i := range out {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], v+uint32(i)*step)
		out[i] = netip.PrefixFrom(netip.AddrFrom4(b), bits)
	}
	return out
}

// sixOf returns the i-th /40 of an IPv6 /32.
func sixOf(p netip.Prefix, i int) netip.Prefix {
	b := p.Masked().Addr().As16()
	b[4] = byte(i)
	return netip.PrefixFrom(netip.AddrFrom16(b), 40)
}

// BuildFixtureWorld builds the world from the fixture, written to a
// temporary folder that is removed again. o's lists are added to the
// fixture's own. Tools fall back to it when no reference data is at hand.
func BuildFixtureWorld(o WorldOptions) (*World, error) {
	tmp, err := os.MkdirTemp("", "verdict-world-")
	if err != nil {
		return nil, fmt.Errorf("build fixture world: %w", err)
	}
	defer os.RemoveAll(tmp)
	f, err := WriteFixture(tmp)
	if err != nil {
		return nil, fmt.Errorf("build fixture world: %w", err)
	}
	own := f.WorldOptions()
	for a := range o.BadASNs {
		own.BadASNs[a] = true
	}
	own.Datacenters = listUnion(own.Datacenters, o.Datacenters)
	own.VPNs = listUnion(own.VPNs, o.VPNs)
	own.PerCity = o.PerCity
	return BuildWorld(tmp, own)
}
