//go:build realdata

package geo_test

// These tests read the downloaded data and so are built only with the
// realdata tag; CI and a fresh checkout have no data, and the default test run
// must pass without it. Run them after `scripts/fetch-data.sh data` with
//
//	go test -tags realdata -run RealData ./signals/geo/
//
// They read $VERDICT_DATA, or the repository's data/ directory when it is not
// set, and fail (never skip) when the files are not there.

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/verdictrisk/verdict/signals/geo"
)

func realDir(t *testing.T) string {
	dir := os.Getenv("VERDICT_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "data")
	}
	for _, f := range []string{geo.CityIPv4File, geo.CityIPv6File, geo.ASNIPv4File, geo.ASNIPv6File} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("real data missing (run scripts/fetch-data.sh or set VERDICT_DATA): %v", err)
		}
	}
	return dir
}

func TestRealDataCheck(t *testing.T) {
	if err := geo.CheckDir(realDir(t)); err != nil {
		t.Fatal(err)
	}
}

// TestRealDataLookups pins answers that have been stable in DB-IP for years;
// a change here means the layout or the data moved, either worth a look.
func TestRealDataLookups(t *testing.T) {
	city, asn, err := geo.OpenDir(realDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer city.Close()
	t.Log(city.Info(), "; ", asn.Info())
	loc, ok := city.Lookup(netip.MustParseAddr("8.8.8.8"))
	want := geo.Location{Country: "US", Region: "California", City: "Mountain View",
		Lat: 37.422, Lon: -122.085}
	if diff := cmp.Diff(want, loc); !ok || diff != "" {
		t.Errorf("8.8.8.8: ok = %v, mismatch (-want +got):\n%s", ok, diff)
	}
	n, ok := asn.Lookup(netip.MustParseAddr("1.1.1.1"))
	if want := (geo.Network{ASN: 13335, Org: "Cloudflare, Inc."}); !ok || n != want {
		t.Errorf("1.1.1.1: %+v, %v, want %+v", n, ok, want)
	}
	if asn.Len() < 400_000 {
		t.Errorf("only %d ASN ranges loaded", asn.Len())
	}
}
