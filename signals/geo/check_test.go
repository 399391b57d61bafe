package geo_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/verdictrisk/verdict/signals/geo"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

func TestCheckFixture(t *testing.T) {
	info, err := geotest.Fixture(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := geo.CheckDir(info.Dir); err != nil {
		t.Errorf("CheckDir(fixture) = %v, want nil", err)
	}
	city, asn, err := geo.OpenDir(info.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer city.Close()
	for _, tc := range []struct {
		name string
		city *geo.CityDB
		asn  *geo.ASNDB
	}{{"both", city, asn}, {"city only", city, nil}, {"asn only", nil, asn}, {"neither", nil, nil}} {
		if err := geo.Check(tc.city, tc.asn); err != nil {
			t.Errorf("Check(%s) = %v, want nil", tc.name, err)
		}
	}
}

// TestCheckWrongData gives Check data that answers wrongly for every sample
// and expects each problem to be reported.
func TestCheckWrongData(t *testing.T) {
	dir := t.TempDir()
	p4, p6 := filepath.Join(dir, "c4.mmdb"), filepath.Join(dir, "c6.mmdb")
	err := geotest.WriteDBIPCity(p4, 4, []geotest.City{
		{Prefix: "8.8.8.0/24", Country: "DE", City: "Berlin", Lat: 52.5, Lon: 13.4},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The IPv6 sample is absent from the IPv6 file.
	err = geotest.WriteDBIPCity(p6, 6, []geotest.City{
		{Prefix: "2001:268::/32", Country: "JP", City: "Tokyo", Lat: 35.7, Lon: 139.7},
	})
	if err != nil {
		t.Fatal(err)
	}
	city, err := geo.OpenCity(p4, p6)
	if err != nil {
		t.Fatal(err)
	}
	defer city.Close()
	a4, a6 := writeASNCSVs(t,
		[]geotest.ASN{
			{Prefix: "8.8.8.0/24", ASN: 3320, Org: "Deutsche Telekom AG"},
			{Prefix: "10.0.0.0/8", ASN: 64512, Org: "Office"},
		},
		[]geotest.ASN{{Prefix: "2001:4860::/32", ASN: 15169}})
	asn, err := geo.OpenASNCSV(a4, a6)
	if err != nil {
		t.Fatal(err)
	}
	err = geo.Check(city, asn)
	if err == nil {
		t.Fatal("Check succeeded on wrong data")
	}
	for _, want := range []string{
		"check city: 8.8.8.8 is in DE, want US",
		"check asn: 8.8.8.8 is in AS3320, want AS15169",
		"check city: 2001:4860:4860::8888 not found",
		"check asn: 2001:4860:4860::8888 has no organisation",
		"check asn: private address 10.1.2.3 resolves to AS64512",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check error lacks %q; got:\n%v", want, err)
		}
	}
}

func TestOpenDirMissing(t *testing.T) {
	dir := t.TempDir()
	if err := geo.CheckDir(dir); err == nil || !strings.Contains(err.Error(), geo.CityIPv4File) {
		t.Errorf("CheckDir(empty dir) = %v, want an error naming %s", err, geo.CityIPv4File)
	}
}
