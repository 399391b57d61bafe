// Package geotest builds small, real geo databases for tests: MMDB city files
// in the DB-IP (ip-location-db) and MaxMind GeoIP2 layouts, and ASN data as
// ip-location-db CSV or as a MaxMind GeoLite2-ASN file. The files are written
// with MaxMind's own writer, so code under test reads them through exactly the
// path it uses for the downloaded data.
//
// Fixture writes a ready-made data directory with a handful of cities for the
// engine and end-to-end tests, and returns the prefixes it used so tests can
// pick addresses without hard-coding them.
package geotest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"go4.org/netipx"
)

// BuildTime is the build date stamped into every database this package
// writes, so that files (and the Info strings derived from them) are the same
// on every run.
var BuildTime = time.Date(2026, time.June, 5, 12, 0, 0, 0, time.UTC)

// City is one network of a city database.
type City struct {
	// Prefix is the network in CIDR form, e.g. "93.192.0.0/16".
	Prefix string
	// Country is the ISO 3166-1 alpha-2 code; empty writes no country.
	Country string
	// Region is the first subdivision (DB-IP state1).
	Region string
	// City is the city name; empty makes a country-level record.
	City     string
	Lat, Lon float64
	// AccuracyKm is the MaxMind accuracy radius; the DB-IP layout has none.
	AccuracyKm uint16
	// RegisteredCountry is the MaxMind registered_country; empty means the
	// same as Country. The DB-IP layout has none.
	RegisteredCountry string
}

// WriteDBIPCity writes recs to path as an ip-location-db DB-IP City Lite
// MMDB: flat records with country_code, state1, state2, city, postcode,
// latitude and longitude (float32) and timezone, database type "city ipv4" or
// "city ipv6". As in the real data, an IPv4 file holds only IPv4 networks and
// an IPv6 file only IPv6 ones.
func WriteDBIPCity(path string, ipVersion int, recs []City) error {
	if ipVersion != 4 && ipVersion != 6 {
		return fmt.Errorf("write dbip city %s: ip version %d, want 4 or 6", path, ipVersion)
	}
	opts := mmdbwriter.Options{
		DatabaseType:        "city ipv" + strconv.Itoa(ipVersion),
		IPVersion:           ipVersion,
		DisableIPv4Aliasing: true,
	}
	family := func(p netip.Prefix) error {
		if p.Addr().Is4() != (ipVersion == 4) {
			return fmt.Errorf("%s does not belong in an IPv%d file", p, ipVersion)
		}
		return nil
	}
	if err := writeCities(path, opts, recs, family, dbipRecord); err != nil {
		return fmt.Errorf("write dbip city %s: %w", path, err)
	}
	return nil
}

// writeCities writes recs to path as a database with opts, after check
// accepts each network, with record building each network's data.
func writeCities(path string, opts mmdbwriter.Options, recs []City,
	check func(netip.Prefix) error, record func(City) mmdbtype.Map) error {
	opts.BuildEpoch = BuildTime.Unix()
	tree, err := mmdbwriter.New(opts)
	if err != nil {
		return err
	}
	for i, r := range recs {
		p, err := netip.ParsePrefix(r.Prefix)
		if err == nil {
			err = check(p)
		}
		if err == nil {
			err = tree.Insert(ipNet(p), record(r))
		}
		if err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	return writeTree(path, tree)
}

func dbipRecord(r City) mmdbtype.Map {
	return mmdbtype.Map{
		"country_code": mmdbtype.String(r.Country),
		"state1":       mmdbtype.String(r.Region),
		"state2":       mmdbtype.String(""),
		"city":         mmdbtype.String(r.City),
		"postcode":     mmdbtype.String(""),
		"latitude":     mmdbtype.Float32(r.Lat),
		"longitude":    mmdbtype.Float32(r.Lon),
		"timezone":     mmdbtype.String(""),
	}
}

// WriteMaxMindCity writes recs to path as a GeoIP2-City MMDB (one IPv6 tree
// that also answers IPv4): country and registered_country with iso_code and
// names, subdivisions, city names, and location with float64 coordinates and
// accuracy_radius. Names carry a second language besides English, as the
// real files do.
func WriteMaxMindCity(path string, recs []City) error {
	opts := mmdbwriter.Options{DatabaseType: "GeoIP2-City", Languages: []string{"de", "en"}}
	anyFamily := func(netip.Prefix) error { return nil }
	if err := writeCities(path, opts, recs, anyFamily, maxMindRecord); err != nil {
		return fmt.Errorf("write maxmind city %s: %w", path, err)
	}
	return nil
}

func names(s string) mmdbtype.Map {
	return mmdbtype.Map{"en": mmdbtype.String(s), "de": mmdbtype.String(s + " (de)")}
}

func maxMindRecord(r City) mmdbtype.Map {
	m := mmdbtype.Map{}
	if r.Country != "" {
		m["country"] = mmdbtype.Map{"iso_code": mmdbtype.String(r.Country), "names": names(r.Country)}
	}
	reg := r.RegisteredCountry
	if reg == "" {
		reg = r.Country
	}
	if reg != "" {
		m["registered_country"] = mmdbtype.Map{"iso_code": mmdbtype.String(reg), "names": names(reg)}
	}
	if r.Region != "" {
		m["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"names": names(r.Region)}}
	}
	if r.City != "" {
		m["city"] = mmdbtype.Map{"names": names(r.City)}
	}
	if r.Lat != 0 || r.Lon != 0 || r.AccuracyKm != 0 {
		m["location"] = mmdbtype.Map{
			"latitude":        mmdbtype.Float64(r.Lat),
			"longitude":       mmdbtype.Float64(r.Lon),
			"accuracy_radius": mmdbtype.Uint16(r.AccuracyKm),
		}
	}
	return m
}

// ASN is one range of an ASN database, given either as Prefix or as an
// inclusive Start and End.
type ASN struct {
	Prefix     string
	Start, End string
	ASN        uint32
	Org        string
}

// bounds returns the first and last address of the range.
func (a ASN) bounds() (start, end netip.Addr, err error) {
	switch {
	case a.Prefix != "" && (a.Start != "" || a.End != ""):
		return start, end, errors.New("both prefix and start/end given")
	case a.Prefix != "":
		p, err := netip.ParsePrefix(a.Prefix)
		if err != nil {
			return start, end, err
		}
		p = p.Masked()
		return p.Addr(), netipx.PrefixLastIP(p), nil
	}
	if start, err = netip.ParseAddr(a.Start); err != nil {
		return start, end, fmt.Errorf("start: %w", err)
	}
	if end, err = netip.ParseAddr(a.End); err != nil {
		return start, end, fmt.Errorf("end: %w", err)
	}
	return start, end, nil
}

// WriteASNCSV writes recs to path in the ip-location-db ASN CSV format, in
// the order given: start,end,asn,org with no header, the organisation quoted
// when it holds a comma or a quote.
func WriteASNCSV(path string, recs []ASN) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write asn csv: %w", err)
	}
	w := csv.NewWriter(f)
	for i, r := range recs {
		start, end, err := r.bounds()
		if err != nil {
			f.Close()
			return fmt.Errorf("write asn csv %s: record %d: %w", path, i, err)
		}
		asn := strconv.FormatUint(uint64(r.ASN), 10)
		// A write error sticks in the writer and is reported by w.Error.
		_ = w.Write([]string{start.String(), end.String(), asn, r.Org})
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		return fmt.Errorf("write asn csv %s: %w", path, err)
	}
	return nil
}

// WriteMaxMindASN writes recs to path as a GeoLite2-ASN MMDB with
// autonomous_system_number and autonomous_system_organization.
func WriteMaxMindASN(path string, recs []ASN) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: "GeoLite2-ASN",
		BuildEpoch:   BuildTime.Unix(),
	})
	if err != nil {
		return fmt.Errorf("write maxmind asn %s: %w", path, err)
	}
	for i, r := range recs {
		start, end, err := r.bounds()
		if err != nil {
			return fmt.Errorf("write maxmind asn %s: record %d: %w", path, i, err)
		}
		rec := mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(r.ASN),
			"autonomous_system_organization": mmdbtype.String(r.Org),
		}
		err = tree.InsertRange(net.IP(start.AsSlice()), net.IP(end.AsSlice()), rec)
		if err != nil {
			return fmt.Errorf("write maxmind asn %s: record %d: %w", path, i, err)
		}
	}
	return writeTree(path, tree)
}

func writeTree(path string, tree *mmdbwriter.Tree) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = tree.WriteTo(f)
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	p = p.Masked()
	return &net.IPNet{
		IP:   net.IP(p.Addr().AsSlice()),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}
}
