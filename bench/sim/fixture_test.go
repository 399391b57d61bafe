package sim

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/gaissmai/bart"
)

// sharedData is the shared reference data folder, beside the repository.
const sharedData = "../../../shared/data"

// TestFixtureMatchesSharedLists checks the fixture's claims about its
// blocks against the real lists: consumer blocks are on no hosting, VPN or
// bad-operator list, hosting and VPN blocks are wholly on theirs. A network
// signal built on those lists then reads the fixture as real traffic.
func TestFixtureMatchesSharedLists(t *testing.T) {
	x4b := filepath.Join(sharedData, "x4bnet-lists-vpn")
	dc, err := LoadPrefixLists(filepath.Join(x4b, "datacenter-ipv4.txt"),
		filepath.Join(x4b, "datacenter-ipv6.txt"))
	if err != nil {
		t.Fatal(err)
	}
	vpn, err := LoadPrefixLists(filepath.Join(x4b, "vpn-ipv4.txt"), filepath.Join(x4b, "vpn-ipv6.txt"))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := LoadBadASNs(filepath.Join(sharedData, "bad-asn-list", "bad-asn-list.csv"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := WriteFixture(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Residential {
		if dc.OverlapsPrefix(p) || vpn.OverlapsPrefix(p) {
			t.Errorf("consumer block %s is on a datacenter or VPN list", p)
		}
	}
	for _, p := range f.Hosting {
		if !coveredBy(dc, p) {
			t.Errorf("hosting block %s is not wholly on the datacenter list", p)
		}
	}
	for _, p := range f.VPN {
		if !coveredBy(vpn, p) {
			t.Errorf("VPN block %s is not wholly on the VPN list", p)
		}
	}
	for _, c := range fixtureCountries {
		for _, isp := range c.isps {
			if bad[isp.asn] {
				t.Errorf("consumer provider AS%d %s is on the bad-ASN list", isp.asn, isp.org)
			}
		}
		for _, n := range append(c.hosting, c.vpn...) {
			if !bad[n.asn] {
				t.Errorf("hosting or VPN operator AS%d %s is not on the bad-ASN list", n.asn, n.org)
			}
		}
	}
}

// coveredBy reports whether every address of p is in the table: p's
// network address is, through a prefix at least as short as p.
func coveredBy(t *bart.Lite, p netip.Prefix) bool {
	lpm, ok := t.LookupPrefixLPM(p)
	return ok && lpm.Bits() <= p.Bits()
}
