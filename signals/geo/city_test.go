package geo_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/verdictrisk/verdict/signals/geo"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// dbipCities is a small data set in both families, with a country-level
// record and an empty record (which must read as a miss).
var dbipCities4 = []geotest.City{
	{Prefix: "93.192.0.0/16", Country: "DE", Region: "Berlin", City: "Berlin",
		Lat: 52.52, Lon: 13.405},
	{Prefix: "93.193.0.0/16", Country: "DE", Lat: 51.2993, Lon: 9.491},
	{Prefix: "8.8.8.0/24", Country: "US", Region: "California", City: "Mountain View",
		Lat: 37.422, Lon: -122.085},
	{Prefix: "5.5.5.0/24"},
}

var dbipCities6 = []geotest.City{
	{Prefix: "2001:268::/32", Country: "JP", Region: "Tokyo", City: "Tokyo",
		Lat: 35.6895, Lon: 139.6917},
}

func openDBIP(t testing.TB, opts geo.CityOptions) *geo.CityDB {
	t.Helper()
	dir := t.TempDir()
	p4, p6 := filepath.Join(dir, "v4.mmdb"), filepath.Join(dir, "v6.mmdb")
	if err := geotest.WriteDBIPCity(p4, 4, dbipCities4); err != nil {
		t.Fatal(err)
	}
	if err := geotest.WriteDBIPCity(p6, 6, dbipCities6); err != nil {
		t.Fatal(err)
	}
	db, err := geo.OpenCityWith(opts, p4, p6)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// lookupCase is a table row for a Lookup method that returns a T.
type lookupCase[T any] struct {
	name   string
	addr   string
	want   T
	wantOK bool
}

func runLookups[T any](t *testing.T, lookup func(netip.Addr) (T, bool), cases []lookupCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := lookup(netip.MustParseAddr(tc.addr))
			if ok != tc.wantOK {
				t.Fatalf("Lookup(%s) ok = %v, want %v", tc.addr, ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Lookup(%s) mismatch (-want +got):\n%s", tc.addr, diff)
			}
		})
	}
}

var (
	berlin = geo.Location{Country: "DE", Region: "Berlin", City: "Berlin", Lat: 52.52, Lon: 13.405}
	mtView = geo.Location{Country: "US", Region: "California", City: "Mountain View",
		Lat: 37.422, Lon: -122.085}
	tokyo = geo.Location{Country: "JP", Region: "Tokyo", City: "Tokyo", Lat: 35.6895, Lon: 139.6917}
)

var dbipCases = []lookupCase[geo.Location]{
	{"ipv4 city", "93.192.10.20", berlin, true},
	{"ipv4 first address", "93.192.0.0", berlin, true},
	{"ipv4 last address", "93.192.255.255", berlin, true},
	{"float32 coordinates keep their decimals", "8.8.8.8", mtView, true},
	{"country-level record", "93.193.1.1",
		geo.Location{Country: "DE", Lat: 51.2993, Lon: 9.491, CountryOnly: true}, true},
	{"ipv6 city", "2001:268:1::5", tokyo, true},
	{"ipv4-mapped ipv6 is ipv4", "::ffff:93.192.10.20", berlin, true},
	{"ipv4 miss", "93.194.0.1", geo.Location{}, false},
	{"ipv6 miss", "2001:269::1", geo.Location{}, false},
	{"empty record is a miss", "5.5.5.5", geo.Location{}, false},
	{"private ipv4", "10.1.2.3", geo.Location{}, false},
	{"loopback", "127.0.0.1", geo.Location{}, false},
	{"private ipv6", "fd00::1", geo.Location{}, false},
}

func TestCityDBIP(t *testing.T) {
	runLookups(t, openDBIP(t, geo.CityOptions{}).Lookup, dbipCases)
}

// TestCityDBIPNoCache checks that the cold path alone gives the same answers.
func TestCityDBIPNoCache(t *testing.T) {
	runLookups(t, openDBIP(t, geo.CityOptions{CacheSize: -1}).Lookup, dbipCases)
}

// TestCityDBIPTinyCache forces records to evict each other from one slot.
func TestCityDBIPTinyCache(t *testing.T) {
	db := openDBIP(t, geo.CityOptions{CacheSize: 1})
	for range 3 {
		runLookups(t, db.Lookup, dbipCases)
	}
}

func TestCityMaxMind(t *testing.T) {
	recs := []geotest.City{
		// The block is registered in the US but used in Germany.
		{Prefix: "81.2.69.0/24", Country: "DE", RegisteredCountry: "US", Region: "Hesse",
			City: "Frankfurt am Main", Lat: 50.1188, Lon: 8.6843, AccuracyKm: 20},
		{Prefix: "2a02:ff0::/32", Country: "GB", Region: "England", City: "London",
			Lat: 51.5142, Lon: -0.0931, AccuracyKm: 100},
		{Prefix: "89.160.20.0/24", Country: "SE", Lat: 59.3247, Lon: 18.056, AccuracyKm: 1000},
		// Only a registered country: there is nothing about where it is used.
		{Prefix: "67.43.156.0/24", RegisteredCountry: "BT"},
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := geotest.WriteMaxMindCity(path, recs); err != nil {
		t.Fatal(err)
	}
	db, err := geo.OpenCity(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	frankfurt := geo.Location{Country: "DE", Region: "Hesse", City: "Frankfurt am Main",
		Lat: 50.1188, Lon: 8.6843, AccuracyKm: 20}
	runLookups(t, db.Lookup, []lookupCase[geo.Location]{
		{"country, not registered_country", "81.2.69.142", frankfurt, true},
		{"ipv4-mapped", "::ffff:81.2.69.142", frankfurt, true},
		{"ipv6", "2a02:ff0::1", geo.Location{Country: "GB", Region: "England", City: "London",
			Lat: 51.5142, Lon: -0.0931, AccuracyKm: 100}, true},
		{"country-level", "89.160.20.1", geo.Location{Country: "SE", Lat: 59.3247, Lon: 18.056,
			AccuracyKm: 1000, CountryOnly: true}, true},
		{"registered_country only is a miss", "67.43.156.1", geo.Location{}, false},
		{"miss", "81.2.70.1", geo.Location{}, false},
		{"private", "192.168.1.1", geo.Location{}, false},
	})
	if got, want := db.Info(), "GeoIP2-City (ipv4+ipv6) built 2026-06-05"; got != want {
		t.Errorf("Info() = %q, want %q", got, want)
	}
}

func TestCityInfo(t *testing.T) {
	db := openDBIP(t, geo.CityOptions{})
	if got, want := db.Info(), "dbip-city (ipv4+ipv6) built 2026-06-05"; got != want {
		t.Errorf("Info() = %q, want %q", got, want)
	}
}

func TestCityClose(t *testing.T) {
	db := openDBIP(t, geo.CityOptions{})
	a := netip.MustParseAddr("93.192.0.1")
	if _, ok := db.Lookup(a); !ok {
		t.Fatal("lookup before Close missed")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if loc, ok := db.Lookup(a); ok {
		t.Errorf("lookup after Close = %+v, want a miss", loc)
	}
}

func TestOpenCityErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mmdb")
	if err := os.WriteFile(junk, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	asn := filepath.Join(dir, "asn.mmdb")
	err := geotest.WriteMaxMindASN(asn, []geotest.ASN{{Prefix: "8.8.8.0/24", ASN: 15169}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		paths []string
		want  []string // substrings of the error
	}{
		{"no file", nil, []string{"no file"}},
		{"missing file", []string{filepath.Join(dir, "nope.mmdb")},
			[]string{"nope.mmdb", "no such file"}},
		{"not an mmdb", []string{junk}, []string{"junk.mmdb", "invalid MaxMind DB"}},
		{"asn database", []string{asn}, []string{"asn.mmdb", "GeoLite2-ASN", "not a city database"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := geo.OpenCity(tc.paths...)
			if err == nil {
				db.Close()
				t.Fatal("OpenCity succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestCityConcurrent runs lookups from several goroutines over a tiny cache,
// so that slots are replaced while they are read; run it with -race.
func TestCityConcurrent(t *testing.T) {
	db := openDBIP(t, geo.CityOptions{CacheSize: 2})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				tc := dbipCases[(g+i)%len(dbipCases)]
				got, ok := db.Lookup(netip.MustParseAddr(tc.addr))
				if ok != tc.wantOK || got != tc.want {
					errs <- tc.name
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for name := range errs {
		t.Errorf("concurrent lookup %q gave a wrong answer", name)
	}
}

// TestVerifyTornFile: a file whose search tree was partly overwritten opens
// (its metadata at the end is intact) but fails Verify, which is what the
// reloader checks before swapping a replaced file in.
func TestVerifyTornFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := geotest.Fixture(dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, geo.CityIPv4File))
	if err != nil {
		t.Fatal(err)
	}
	good, err := geo.OpenCityFiles(geo.CityOptions{}, geo.File{Name: "good", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	n, err := good.Verify()
	if err != nil || n != 8 { // the eight places with a country and an IPv4 network
		t.Fatalf("Verify of an intact file: %d networks, %v", n, err)
	}
	torn := slices.Clone(data)
	for i := 64; i < len(torn)/2; i++ {
		torn[i] = 0xff
	}
	db, err := geo.OpenCityFiles(geo.CityOptions{}, geo.File{Name: "torn", Data: torn})
	if err != nil {
		t.Fatalf("a torn tree with intact metadata should open (and fail Verify): %v", err)
	}
	if _, err := db.Verify(); err == nil {
		t.Error("Verify accepted a torn search tree")
	}
}

// TestMaxMindWrongType: an ASN database given as a city database is
// refused by geoip2-golang's type check, naming the type, and the
// other way round.
func TestMaxMindWrongType(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "GeoLite2-ASN.mmdb")
	asn := []geotest.ASN{{Prefix: "8.8.8.0/24", ASN: 15169, Org: "Google LLC"}}
	if err := geotest.WriteMaxMindASN(p, asn); err != nil {
		t.Fatal(err)
	}
	if _, err := geo.OpenCity(p); err == nil || !strings.Contains(err.Error(), "GeoLite2-ASN") {
		t.Errorf("OpenCity(asn file) = %v", err)
	}
	c := filepath.Join(dir, "GeoIP2-City.mmdb")
	if err := geotest.WriteMaxMindCity(c, []geotest.City{{Prefix: "81.2.69.0/24", Country: "GB",
		RegisteredCountry: "US", City: "London", Lat: 51.5, Lon: -0.1, AccuracyKm: 20}}); err != nil {
		t.Fatal(err)
	}
	if _, err := geo.OpenASNMMDB(c); err == nil || !strings.Contains(err.Error(), "ASN method") {
		t.Errorf("OpenASNMMDB(city file) = %v", err)
	}
}
