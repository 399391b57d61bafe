package sim

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gaissmai/bart"
	"github.com/google/go-cmp/cmp"

	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// fixtureWorld builds the world from the geotest fixture; bad lists the
// operators to treat as hosting.
func fixtureWorld(t testing.TB, bad map[uint32]bool) (*World, geotest.FixtureInfo) {
	t.Helper()
	info, err := geotest.Fixture(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := BuildWorld(info.Dir, WorldOptions{BadASNs: bad})
	if err != nil {
		t.Fatal(err)
	}
	return w, info
}

// TestBuildWorldFixture checks that every fixture place that is one of the
// world's cities becomes a city, with its own networks and operator.
func TestBuildWorldFixture(t *testing.T) {
	w, info := fixtureWorld(t, nil)
	var want []string
	for _, p := range info.Places {
		if p.City != "" && newCityIndex().lookup(p.Country, p.City) >= 0 {
			want = append(want, p.City)
		}
	}
	var got []string
	for _, c := range w.Cities {
		got = append(got, c.Name)
		p := info.MustPlace(c.Name)
		for _, n := range c.Residential {
			if n.ASN != p.ASN || n.Org != p.Org {
				t.Errorf("%s: network %s has AS%d %q, want AS%d %q", c.Name, n.Prefix, n.ASN,
					n.Org, p.ASN, p.Org)
			}
			if !p.IPv4.Contains(n.Prefix.Addr()) && !p.IPv6.Contains(n.Prefix.Addr()) {
				t.Errorf("%s: network %s is outside the place's %s and %s", c.Name, n.Prefix,
					p.IPv4, p.IPv6)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cities (-want +got):\n%s", diff)
	}
	if len(want) < 4 {
		t.Errorf("the fixture gives only %d cities; the generator tests need several countries",
			len(want))
	}
	if len(w.Hosting) != 0 {
		t.Errorf("hosting networks without a bad-ASN list: %v", w.Hosting)
	}
}

func TestBuildWorldHosting(t *testing.T) {
	info, err := geotest.Fixture(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	berlin := info.MustPlace("Berlin")
	w, err := BuildWorld(info.Dir, WorldOptions{BadASNs: map[uint32]bool{berlin.ASN: true}})
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(w.Cities, func(c *City) bool { return c.Name == "Berlin" }) {
		t.Error("Berlin, whose only operator is on the bad list, is still a city people live in")
	}
	if len(w.Hosting) == 0 {
		t.Fatal("no hosting network")
	}
	for _, n := range w.Hosting {
		if n.ASN != berlin.ASN || !berlin.IPv4.Contains(n.Prefix.Addr()) {
			t.Errorf("hosting network %s AS%d is not Berlin's %s AS%d", n.Prefix, n.ASN,
				berlin.IPv4, berlin.ASN)
		}
	}
}

func TestBuildWorldDatacenters(t *testing.T) {
	info, err := geotest.Fixture(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tokyo := info.MustPlace("Tokyo")
	dc := new(bart.Lite)
	// A small block inside Tokyo's network: the sampled /24s that overlap
	// it are hosting, the others stay residential.
	dc.Insert(netip.PrefixFrom(tokyo.IPv4.Addr(), 17))
	w, err := BuildWorld(info.Dir, WorldOptions{Datacenters: dc})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range w.Hosting {
		if !dc.OverlapsPrefix(n.Prefix) {
			t.Errorf("hosting network %s is not in the datacenter list", n.Prefix)
		}
	}
	for _, c := range w.Cities {
		for _, n := range c.Residential {
			if dc.OverlapsPrefix(n.Prefix) {
				t.Errorf("%s: residential network %s is in the datacenter list", c.Name, n.Prefix)
			}
		}
	}
	if len(w.Hosting) == 0 {
		t.Error("no hosting network; the check above tested nothing")
	}
}

func TestReadPrefixes(t *testing.T) {
	tbl := new(bart.Lite)
	if err := readPrefixes(tbl, strings.NewReader("# list\n1.12.0.0/14\n\n2a01:4f8::/32\n")); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"1.13.2.3", "2a01:4f8::1"} {
		if !tbl.Lookup(netip.MustParseAddr(a)) {
			t.Errorf("%s is not in the table", a)
		}
	}
	err := readPrefixes(new(bart.Lite), strings.NewReader("1.2.3.0/24\n1.2.3.4\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error = %v, want one naming line 2", err)
	}
	if _, err := LoadPrefixLists(t.TempDir() + "/none.txt"); err == nil {
		t.Error("loading a missing list succeeded")
	}
}

func TestBuildWorldErrors(t *testing.T) {
	if _, err := BuildWorld(t.TempDir(), WorldOptions{}); err == nil {
		t.Error("BuildWorld of an empty folder succeeded")
	}
}

func TestSubPrefix(t *testing.T) {
	tests := []struct {
		in   string
		bits int
		h    uint64
		want string
	}{
		{"93.192.0.0/16", 24, 0, "93.192.0.0/24"},
		{"93.192.0.0/16", 24, 5, "93.192.5.0/24"},
		{"93.192.0.0/16", 24, 0x1ff, "93.192.255.0/24"}, // only the low 8 bits count
		{"10.0.0.0/12", 24, 0xfff, "10.15.255.0/24"},
		{"2003:e0::/32", 48, 0, "2003:e0::/48"},
		{"2003:e0::/32", 48, 0xabcd, "2003:e0:abcd::/48"},
		{"2001:8000::/24", 48, 0x123456, "2001:8012:3456::/48"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := subPrefix(netip.MustParsePrefix(tc.in), tc.bits, tc.h)
			if got.String() != tc.want {
				t.Errorf("subPrefix(%s, %d, %#x) = %s, want %s", tc.in, tc.bits, tc.h, got, tc.want)
			}
		})
	}
}

func TestLastAndRandomAddr(t *testing.T) {
	r := newRand(1, 1)
	tests := []struct{ prefix, last string }{
		{"93.192.5.0/24", "93.192.5.255"},
		{"8.8.8.8/32", "8.8.8.8"},
		{"8.8.8.0/31", "8.8.8.1"},
		{"2003:e0:abcd::/48", "2003:e0:abcd:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff"},
		{"2001:db8::/100", "2001:db8::fff:ffff"},
	}
	for _, tc := range tests {
		t.Run(tc.prefix, func(t *testing.T) {
			p := netip.MustParsePrefix(tc.prefix)
			if got := lastAddr(p); got.String() != tc.last {
				t.Errorf("lastAddr = %s, want %s", got, tc.last)
			}
			for range 200 {
				a := randomAddr(r, p)
				if !p.Contains(a) {
					t.Fatalf("randomAddr = %s, outside %s", a, p)
				}
				if p.Bits() < 31 && (a == p.Addr() || a.String() == tc.last) && a.Is4() {
					t.Fatalf("randomAddr = %s, the network or broadcast address", a)
				}
			}
		})
	}
}

func TestLoadBadASNs(t *testing.T) {
	tests := []struct {
		name, text string
		want       []uint32
		err        string
	}{
		{"real layout", "ASN,Entity\n198375,\"INULOGIC SARL, FR\"\n51447, \"RootLayer, NL\"\n" +
			"\"48031\",\"PE Ivanov - xserver.ua\" \n\nAS3223,VOXILITY\n",
			[]uint32{3223, 48031, 51447, 198375}, ""},
		{"no header", "13335,Cloudflare\n", []uint32{13335}, ""},
		{"bad number", "ASN,Entity\n1,a\nten,b\n", nil, "line 3: \"ten\" is not an AS number"},
		{"zero", "0,reserved\n", nil, "line 1"},
		{"empty", "ASN,Entity\n", nil, "no AS number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := readBadASNs(strings.NewReader(tc.text))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []uint32
			for a := range set {
				got = append(got, a)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("AS numbers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadBadASNsFile(t *testing.T) {
	if _, err := LoadBadASNs(t.TempDir() + "/missing.csv"); err == nil ||
		!strings.Contains(err.Error(), "bad-asn list") {
		t.Errorf("error = %v, want a bad-asn list error", err)
	}
}
