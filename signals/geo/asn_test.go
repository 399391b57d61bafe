package geo_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verdictrisk/verdict/signals/geo"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// asnRanges has adjacent ranges of different systems, organisations that need
// quoting, an IPv4-mapped start, IPv6 ranges, and AS0.
var asnRanges4 = []geotest.ASN{
	{Start: "1.0.0.0", End: "1.0.0.255", ASN: 13335, Org: "Cloudflare, Inc."},
	{Start: "1.0.1.0", End: "1.0.3.255", ASN: 4134, Org: "Chinanet"},
	{Start: "2.26.200.0", End: "2.26.215.255", ASN: 201907, Org: `LLC "SPUTNIK"`},
	{Start: "::ffff:5.5.5.0", End: "::ffff:5.5.5.255", ASN: 64500, Org: "Mapped Example"},
	{Start: "100.64.0.0", End: "100.64.0.255", ASN: 0, Org: "Not routed"},
}

var asnRanges6 = []geotest.ASN{
	{Start: "2001:200::", End: "2001:200:1b9:ffff:ffff:ffff:ffff:ffff", ASN: 2500,
		Org: "WIDE Project"},
	{Start: "2001:200:1ba::", End: "2001:200:1ba:ffff:ffff:ffff:ffff:ffff", ASN: 24047,
		Org: "Internet Systems Consortium, Inc."},
	{Prefix: "2804:14c::/32", ASN: 28573, Org: "Claro NXT Telecomunicacoes Ltda"},
}

var (
	cloudflare = geo.Network{ASN: 13335, Org: "Cloudflare, Inc."}
	chinanet   = geo.Network{ASN: 4134, Org: "Chinanet"}
	wide       = geo.Network{ASN: 2500, Org: "WIDE Project"}
	isc        = geo.Network{ASN: 24047, Org: "Internet Systems Consortium, Inc."}
)

var asnCases = []lookupCase[geo.Network]{
	{"first address of the first range", "1.0.0.0", cloudflare, true},
	{"last address of a range", "1.0.0.255", cloudflare, true},
	{"first address of the adjacent range", "1.0.1.0", chinanet, true},
	{"last address of the adjacent range", "1.0.3.255", chinanet, true},
	{"just past a range", "1.0.4.0", geo.Network{}, false},
	{"before every range", "0.255.255.255", geo.Network{}, false},
	{"after every range", "223.0.0.1", geo.Network{}, false},
	{"quoted quotes", "2.26.201.1", geo.Network{ASN: 201907, Org: `LLC "SPUTNIK"`}, true},
	{"mapped start in the file", "5.5.5.5", geo.Network{ASN: 64500, Org: "Mapped Example"}, true},
	{"ipv4-mapped lookup", "::ffff:1.0.0.1", cloudflare, true},
	{"AS0 is a miss", "100.64.0.1", geo.Network{}, false},
	{"private", "10.0.0.1", geo.Network{}, false},
	{"ipv6 first address", "2001:200::", wide, true},
	{"ipv6 last address", "2001:200:1b9:ffff:ffff:ffff:ffff:ffff", wide, true},
	{"ipv6 adjacent range start", "2001:200:1ba::", isc, true},
	{"ipv6 adjacent range end", "2001:200:1ba:ffff:ffff:ffff:ffff:ffff", isc, true},
	{"ipv6 just past a range", "2001:200:1bb::", geo.Network{}, false},
	{"ipv6 prefix", "2804:14c:1::1",
		geo.Network{ASN: 28573, Org: "Claro NXT Telecomunicacoes Ltda"}, true},
	{"ipv6 before every range", "::1", geo.Network{}, false},
	{"ipv6 after every range", "fd00::1", geo.Network{}, false},
}

func writeASNCSVs(t testing.TB, r4, r6 []geotest.ASN) (p4, p6 string) {
	t.Helper()
	dir := t.TempDir()
	p4, p6 = filepath.Join(dir, "asn-ipv4.csv"), filepath.Join(dir, "asn-ipv6.csv")
	if err := geotest.WriteASNCSV(p4, r4); err != nil {
		t.Fatal(err)
	}
	if err := geotest.WriteASNCSV(p6, r6); err != nil {
		t.Fatal(err)
	}
	return p4, p6
}

func TestASNCSV(t *testing.T) {
	p4, p6 := writeASNCSVs(t, asnRanges4, asnRanges6)
	db, err := geo.OpenASNCSV(p4, p6)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := db.Len(), len(asnRanges4)+len(asnRanges6); got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	runLookups(t, db.Lookup, asnCases)
}

// TestASNCSVUnsorted gives the ranges in reverse order and the files swapped.
func TestASNCSVUnsorted(t *testing.T) {
	rev := func(rs []geotest.ASN) []geotest.ASN {
		out := make([]geotest.ASN, len(rs))
		for i, r := range rs {
			out[len(rs)-1-i] = r
		}
		return out
	}
	p4, p6 := writeASNCSVs(t, rev(asnRanges4), rev(asnRanges6))
	db, err := geo.OpenASNCSV(p6, p4)
	if err != nil {
		t.Fatal(err)
	}
	runLookups(t, db.Lookup, asnCases)
}

func TestASNMMDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "asn.mmdb")
	// The MaxMind writer refuses reserved space such as 100.64.0.0/10, so
	// the AS0 range is left out; the AS0 case still misses, as it must.
	var recs []geotest.ASN
	for _, r := range append(asnRanges4, asnRanges6...) {
		if r.ASN != 0 {
			recs = append(recs, r)
		}
	}
	if err := geotest.WriteMaxMindASN(path, recs); err != nil {
		t.Fatal(err)
	}
	db, err := geo.OpenASNMMDB(path)
	if err != nil {
		t.Fatal(err)
	}
	runLookups(t, db.Lookup, asnCases)
	// 1.0.1.0-1.0.3.255 is stored as two networks and comes back merged.
	if got, want := db.Len(), len(recs); got != want {
		t.Errorf("Len() = %d, want %d (neighbouring networks merged)", got, want)
	}
}

func TestOpenASNMMDBErrors(t *testing.T) {
	dir := t.TempDir()
	city := filepath.Join(dir, "city.mmdb")
	err := geotest.WriteDBIPCity(city, 4, []geotest.City{{Prefix: "8.8.8.0/24", Country: "US"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = geo.OpenASNMMDB(city)
	for _, w := range []string{"city.mmdb", "8.8.8.0/24", "autonomous_system_number"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("OpenASNMMDB(city db) error = %v, want it to mention %q", err, w)
		}
	}
	if _, err := geo.OpenASNMMDB(filepath.Join(dir, "missing.mmdb")); err == nil ||
		!strings.Contains(err.Error(), "missing.mmdb") {
		t.Errorf("OpenASNMMDB(missing) error = %v, want it to name the file", err)
	}
}

func TestOpenASNCSVErrors(t *testing.T) {
	const good = "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n"
	tests := []struct {
		name string
		body string
		want string // the expected error after "file:"
	}{
		{"wrong field count", good + "1.0.1.0,1.0.1.255,4134\n", "2: wrong number of fields"},
		{"bad start", good + "1.0.1,1.0.1.255,4134,Chinanet\n", "2: range start"},
		{"bad end", good + "1.0.1.0,1.0.1.256,4134,Chinanet\n", "2: range end"},
		{"bad asn", good + "1.0.1.0,1.0.1.255,AS4134,Chinanet\n", `2: asn "AS4134"`},
		{"negative asn", good + "1.0.1.0,1.0.1.255,-1,Chinanet\n", `2: asn "-1"`},
		{"asn too big", good + "1.0.1.0,1.0.1.255,4294967296,X\n", `2: asn "4294967296"`},
		{"end before start", good + "1.0.2.0,1.0.1.255,4134,Chinanet\n",
			"2: range 1.0.2.0-1.0.1.255 ends before"},
		{"mixed families", good + "1.0.1.0,2001::1,4134,Chinanet\n", "2: range 1.0.1.0-2001::1 mixes"},
		{"zone", good + "fe80::1%eth0,fe80::2%eth0,1,X\n", "2: range"},
		{"bare quote", good + "1.0.1.0,1.0.1.255,4134,Chi\"net\n", "2: bare \""},
		{"unterminated quote", good + "1.0.1.0,1.0.1.255,4134,\"Chinanet\n",
			"2: extraneous or missing \""},
		{"header line", "start,end,asn,org\n" + good, "1: range start"},
		{"nested range", good + "1.0.0.128,1.0.0.200,4134,Chinanet\n",
			"2: range 1.0.0.128-1.0.0.200 overlaps range 1.0.0.0-1.0.0.255 of "},
		{"same start", good + "1.0.0.0,1.0.1.255,4134,Chinanet\n",
			"2: range 1.0.0.0-1.0.1.255 overlaps range 1.0.0.0-1.0.0.255 of "},
		{"same end", good + "1.0.0.128,1.0.0.255,4134,Chinanet\n",
			"2: range 1.0.0.128-1.0.0.255 overlaps range 1.0.0.0-1.0.0.255 of "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "asn.csv")
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			db, err := geo.OpenASNCSV(path)
			if err == nil {
				t.Fatalf("OpenASNCSV succeeded with %d ranges, want an error", db.Len())
			}
			if want := path + ":" + tc.want; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error = %q\nwant prefix %q", err, want)
			}
		})
	}
}

// TestASNCSVPartialOverlap: a range that runs into the next one (as one does
// in the published data) gives the shared addresses to the next one.
func TestASNCSVPartialOverlap(t *testing.T) {
	a := geo.Network{ASN: 749, Org: "A"}
	b := geo.Network{ASN: 721, Org: "B"}
	p4, p6 := writeASNCSVs(t,
		[]geotest.ASN{
			{Start: "214.95.0.0", End: "215.0.255.255", ASN: a.ASN, Org: a.Org},
			{Start: "215.0.0.0", End: "215.1.3.255", ASN: b.ASN, Org: b.Org},
		},
		[]geotest.ASN{
			{Start: "2001:db9::", End: "2001:dba::ffff", ASN: a.ASN, Org: a.Org},
			{Start: "2001:dba::", End: "2001:dbb::", ASN: b.ASN, Org: b.Org},
		})
	db, err := geo.OpenASNCSV(p4, p6)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]geo.Network{
		"214.95.0.0": a, "214.255.255.255": a, "215.0.0.0": b, "215.0.255.255": b,
		"215.1.3.255": b, "2001:db9:ffff::": a, "2001:dba::": b, "2001:dba::ffff": b,
	} {
		if got, ok := db.Lookup(netip.MustParseAddr(addr)); !ok || got != want {
			t.Errorf("Lookup(%s) = %+v, %v, want %+v", addr, got, ok, want)
		}
	}
	if want := "2 overlapping ranges trimmed"; !strings.Contains(db.Info(), want) {
		t.Errorf("Info() = %q, want it to contain %q", db.Info(), want)
	}
}

// TestOpenASNCSVOverlapAcrossFiles checks that an overlap between two files
// names both places.
func TestOpenASNCSVOverlapAcrossFiles(t *testing.T) {
	a, b := writeASNCSVs(t, asnRanges4[:1], []geotest.ASN{{Prefix: "1.0.0.0/25", ASN: 1, Org: "X"}})
	_, err := geo.OpenASNCSV(a, b)
	if err == nil || !strings.Contains(err.Error(), a+":1") || !strings.Contains(err.Error(), b+":1") {
		t.Errorf("error = %v, want it to name %s:1 and %s:1", err, a, b)
	}
}

func TestOpenASNCSVMissing(t *testing.T) {
	for _, paths := range [][]string{nil, {filepath.Join(t.TempDir(), "none.csv")}} {
		if _, err := geo.OpenASNCSV(paths...); err == nil {
			t.Errorf("OpenASNCSV(%q) succeeded, want an error", paths)
		}
	}
}

// FuzzOpenASNCSV feeds arbitrary files to the loader: it must not panic, and
// a database it accepts must answer a found AS other than AS0 or a zero miss.
func FuzzOpenASNCSV(f *testing.F) {
	f.Add("1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n2001::,2001::ff,6939,HE\n")
	f.Add("1.0.0.0,1.0.0.255,1,\"a \"\"b\"\"\"\r\n")
	f.Add("x,y,z\n")
	f.Fuzz(func(t *testing.T, body string) {
		path := filepath.Join(t.TempDir(), "asn.csv")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := geo.OpenASNCSV(path)
		if err != nil {
			return
		}
		for line := range strings.Lines(body) {
			start, _, ok := strings.Cut(line, ",")
			a, err := netip.ParseAddr(start)
			if !ok || err != nil {
				continue
			}
			n, ok := db.Lookup(a)
			if ok && n.ASN == 0 || !ok && n != (geo.Network{}) {
				t.Errorf("Lookup(%s) = %+v, %v", a, n, ok)
			}
		}
	})
}
