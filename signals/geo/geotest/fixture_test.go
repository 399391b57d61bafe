package geotest_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/verdictrisk/verdict/signals/geo"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// TestFixture reads every place of the fixture back through the geo package,
// so the description Fixture returns is known to match the files it wrote.
func TestFixture(t *testing.T) {
	info, err := geotest.Fixture(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	city, asn, err := geo.OpenDir(info.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer city.Close()
	for _, p := range info.Places {
		t.Run(p.Name, func(t *testing.T) {
			for _, a := range []netip.Addr{p.Addr4(), p.Addr6()} {
				if a.IsValid() {
					checkPlace(t, city, asn, p, a)
				}
			}
		})
	}
}

func checkPlace(t *testing.T, city *geo.CityDB, asn *geo.ASNDB, p geotest.Place, a netip.Addr) {
	t.Helper()
	wantLoc := geo.Location{Country: p.Country, Region: p.Region, City: p.City,
		Lat: p.Lat, Lon: p.Lon, CountryOnly: p.City == ""}
	loc, ok := city.Lookup(a)
	if p.Country == "" {
		wantLoc = geo.Location{}
	}
	if ok != (p.Country != "") {
		t.Errorf("city.Lookup(%s) ok = %v, want %v", a, ok, !ok)
	}
	if diff := cmp.Diff(wantLoc, loc); diff != "" {
		t.Errorf("city.Lookup(%s) mismatch (-want +got):\n%s", a, diff)
	}
	n, ok := asn.Lookup(a)
	if want := (geo.Network{ASN: p.ASN, Org: p.Org}); !ok || n != want {
		t.Errorf("asn.Lookup(%s) = %+v, %v, want %+v", a, n, ok, want)
	}
}

func TestFixturePlace(t *testing.T) {
	info, err := geotest.Fixture(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if p := info.MustPlace("Berlin"); p.City != "Berlin" || !p.IPv4.Contains(p.Addr4()) ||
		!p.IPv6.Contains(p.Addr6()) {
		t.Errorf("MustPlace(Berlin) = %+v with addresses %s, %s", p, p.Addr4(), p.Addr6())
	}
	if _, ok := info.Place("Atlantis"); ok {
		t.Error("Place(Atlantis) found a place")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustPlace(Atlantis) did not panic")
		}
	}()
	info.MustPlace("Atlantis")
}

func TestFixtureCSVQuoting(t *testing.T) {
	info, err := geotest.Fixture(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(info.Dir, geo.ASNIPv4File))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"167.99.0.0,167.99.255.255,14061,\"DigitalOcean, LLC\"\n",
		"2.26.200.0,2.26.207.255,201907,\"LLC \"\"SPUTNIK\"\"\"\n",
		"8.8.8.0,8.8.8.255,15169,Google LLC\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("asn-ipv4.csv lacks line %q; it is:\n%s", want, b)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"dbip version", geotest.WriteDBIPCity(filepath.Join(dir, "a"), 5, nil), "ip version 5"},
		{"dbip family", geotest.WriteDBIPCity(filepath.Join(dir, "b"), 6,
			[]geotest.City{{Prefix: "8.8.8.0/24"}}), "does not belong in an IPv6 file"},
		{"dbip prefix", geotest.WriteDBIPCity(filepath.Join(dir, "c"), 4,
			[]geotest.City{{Prefix: "8.8.8.0/33"}}), "record 0"},
		{"maxmind prefix", geotest.WriteMaxMindCity(filepath.Join(dir, "d"),
			[]geotest.City{{Prefix: "x"}}), "record 0"},
		{"asn prefix and range", geotest.WriteASNCSV(filepath.Join(dir, "e"),
			[]geotest.ASN{{Prefix: "8.8.8.0/24", Start: "8.8.8.0"}}), "both prefix and start/end"},
		{"asn bad end", geotest.WriteMaxMindASN(filepath.Join(dir, "f"),
			[]geotest.ASN{{Start: "8.8.8.0", End: "8.8.8"}}), "end"},
		{"unwritable", geotest.WriteASNCSV(filepath.Join(dir, "no", "such"), nil), "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", tc.err, tc.want)
			}
		})
	}
}
