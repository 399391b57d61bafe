package lists

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func src(name, data string) []Source { return []Source{{Name: name, Data: []byte(data)}} }

// TestCIDRJunkAndOverlaps: junk lines are skipped with their line number,
// host bits are masked with a warning, nested and repeated prefixes work.
func TestCIDRJunkAndOverlaps(t *testing.T) {
	data := strings.Join([]string{
		"# datacenter ranges",
		"203.0.114.0/24",
		"203.0.114.128/25   # nested in the line above",
		"203.0.114.0/24",
		"198.51.99.7/24",          // host bits
		"not-a-cidr",              // junk, line 6
		"2a01:4f8::/32 ; Hetzner", // ';' comment
		"",
		"::ffff:192.0.3.0/120", // mapped, stored as 192.0.3.0/24
		"2a01:4f8:zz::/48",     // junk, line 10
		"5.6.7.8",
		"1.2.3.4/33", // junk, line 12
		"10.0.0.0/8", // private, fine outside a blocklist
		"9.9.9.0/24", "9.9.10.0/24", "9.9.11.0/24", "9.9.12.0/24", "9.9.13.0/24",
		"9.9.14.0/24", "9.9.15.0/24", "9.9.16.0/24", "9.9.17.0/24", "9.9.18.0/24",
		"9.9.19.0/24", "9.9.20.0/24", "9.9.21.0/24", "9.9.22.0/24", "9.9.23.0/24",
		"9.9.24.0/24", "9.9.25.0/24", "9.9.26.0/24", "9.9.27.0/24", "9.9.28.0/24",
	}, "\n")
	l, res, err := Parse("dc", CIDR, Hosting, src("dc.txt", data))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range res.Problems {
		got = append(got, p.String())
	}
	want := []string{
		`dc.txt:5: "198.51.99.7/24" has host bits set; used as 198.51.99.0/24`,
		`dc.txt:6: "not-a-cidr" is not an address or CIDR`,
		`dc.txt:10: "2a01:4f8:zz::/48" is not an address or CIDR`,
		`dc.txt:12: "1.2.3.4/33" is not an address or CIDR`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if res.Junk != 3 || res.Warnings != 1 || res.Lines != 31 {
		t.Errorf("junk %d warnings %d lines %d, want 3, 1, 31", res.Junk, res.Warnings, res.Lines)
	}
	// 203.0.114.0/24 and its /25, 198.51.99.0/24, 2a01:4f8::/32,
	// 192.0.3.0/24, 5.6.7.8/32, 10.0.0.0/8 and twenty 9.9.x.0/24.
	if l.Len() != 27 {
		t.Errorf("Len = %d, want 27", l.Len())
	}
	for addr, want := range map[string]bool{
		"203.0.114.200":      true,
		"::ffff:203.0.114.1": true,
		"198.51.99.255":      true,
		"198.51.100.1":       false,
		"2a01:4f8:c17:1::1":  true,
		"2a01:4f9::1":        false,
		"192.0.3.77":         true,
		"5.6.7.8":            true,
		"5.6.7.9":            false,
		"10.20.30.40":        true,
		"9.9.28.1":           true,
		"9.9.29.1":           false,
		"2001:db8::1":        false,
		"::ffff:5.6.7.8":     true,
		"":                   false, // the zero Addr is never listed
	} {
		a, _ := netip.ParseAddr(addr)
		if got := l.ContainsAddr(a); got != want {
			t.Errorf("ContainsAddr(%q) = %v, want %v", addr, got, want)
		}
	}
	if l.ContainsASN(14061) {
		t.Error("a CIDR list contains an ASN")
	}
}

// TestBlocklistIgnoresPrivate: a blocklist never blocks private, CGNAT or
// reserved space, even when the list says so.
func TestBlocklistIgnoresPrivate(t *testing.T) {
	data := "# FireHOL-style bogons first\n0.0.0.0/8\n10.0.0.0/8\n100.64.0.0/10\n" +
		"192.168.0.0/16\n224.0.0.0/3\n0.0.0.0/0\nfd00::/8\n185.220.101.0/24\n45.155.205.233\n"
	l, res, err := Parse("abuse", CIDR, Block, src("abuse.netset", data))
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 2 {
		t.Errorf("Len = %d, want 2 (the two public entries)", l.Len())
	}
	// 224.0.0.0/3, 0.0.0.0/0 and fd00::/8 are too wide for any list: junk.
	if res.Warnings != 4 || res.Junk != 3 {
		t.Errorf("warnings %d junk %d, want 4 and 3", res.Warnings, res.Junk)
	}
	if p := res.Problems[1]; p.Line != 3 || !p.Warning ||
		p.Msg != "10.0.0.0/8 overlaps private address space; ignored in a blocklist" {
		t.Errorf("problem = %+v", p)
	}
	for addr, want := range map[string]bool{
		"10.1.2.3": false, "100.64.1.1": false, "192.168.1.1": false, "8.8.8.8": false,
		"fd00::1": false, "185.220.101.7": true, "45.155.205.233": true,
	} {
		if got := l.ContainsAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("ContainsAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestWidePrefixesAreJunk: an entry wider than an IPv4 /8 or an IPv6 /16
// is a junk line, reported with its line, in every role; a /8 and a /16
// are taken.
func TestWidePrefixesAreJunk(t *testing.T) {
	wide := map[string]string{ // entry: an address it would cover
		"0.0.0.0/0": "8.8.8.8", "::/0": "2001:db8::1", "::ffff:0.0.0.0/96": "9.9.9.9",
		"1.0.0.0/7": "1.1.1.1", "2000::/3": "2a00:1450::1", "2a00::/15": "2a01:4f9::1",
	}
	for _, role := range Roles {
		for entry, addr := range wide {
			data := "203.0.114.0/24\n" + entry + "  # typed by mistake\n2a01:4f8::/32\n"
			l, res, err := Parse("l", CIDR, role, src("l.txt", data))
			if err != nil {
				t.Fatalf("%s, %s: %v", role, entry, err)
			}
			want := Problem{Source: "l.txt", Line: 2, Msg: `"` + entry + `" is wider than /8, ` +
				`the widest entry a list takes`}
			if !strings.Contains(entry, ".") {
				want.Msg = strings.Replace(want.Msg, "/8", "/16", 1)
			}
			if res.Junk != 1 || len(res.Problems) != 1 || res.Problems[0] != want {
				t.Errorf("%s, %s: junk %d, problems %v; want %v", role, entry, res.Junk,
					res.Problems, want)
			}
			if l.ContainsAddr(netip.MustParseAddr(addr)) || l.Len() != 2 {
				t.Errorf("%s, %s: %s listed (%d entries)", role, entry, addr, l.Len())
			}
		}
	}
	l, res, err := Parse("l", CIDR, Hosting, src("l.txt", "3.0.0.0/8\n2a00::/16\n"))
	if err != nil || res.Junk != 0 || !l.ContainsAddr(netip.MustParseAddr("3.3.3.3")) ||
		!l.ContainsAddr(netip.MustParseAddr("2a00:1::1")) {
		t.Errorf("a /8 and a /16: %v, %+v", err, res)
	}
}

func TestASNList(t *testing.T) {
	data := "ASN,Entity\n198375,\"INULOGIC SARL, FR\"\n51447, \"RootLayer Web Services Ltd, NL\"\n" +
		"AS14061\nas16276 # OVH\nAS0\nAS\n4294967296\n"
	l, res, err := Parse("bad-asn", ASN, Hosting, src("bad-asn.csv", data))
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[uint32]bool{198375: true, 51447: true, 14061: true, 16276: true,
		0: false, 15169: false} {
		if got := l.ContainsASN(n); got != want {
			t.Errorf("ContainsASN(%d) = %v, want %v", n, got, want)
		}
	}
	if l.Len() != 4 || res.Junk != 3 || res.Lines != 7 {
		t.Errorf("len %d junk %d lines %d, want 4, 3, 7", l.Len(), res.Junk, res.Lines)
	}
	if got := res.Problems[0].String(); got != `bad-asn.csv:6: "AS0" is not an AS number` {
		t.Errorf("first problem %q", got)
	}
	if l.ContainsAddr(netip.MustParseAddr("1.2.3.4")) {
		t.Error("an ASN list contains an address")
	}
}

func TestParseRefuses(t *testing.T) {
	html := "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<h1>502</h1>\n</body>\n</html>\n"
	tests := []struct {
		name, data string
		want       error
	}{
		{"empty", "", ErrEmpty},
		{"html error page", html, ErrTooMuchJunk},
		{"one junk line alone", "garbage\n", ErrTooMuchJunk},
		{"a third junk", "1.1.1.0/24\n2.2.2.0/24\nx\ny\nz\nw\n3.3.3.0/24\n4.4.4.0/24\n", ErrTooMuchJunk},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, _, err := Parse("x", CIDR, Tor, src("x.txt", tc.data))
			if !errors.Is(err, tc.want) || l != nil {
				t.Errorf("Parse = %v, %v; want %v", l, err, tc.want)
			}
		})
	}
	// Comments only is a valid, empty list.
	l, _, err := Parse("x", CIDR, Tor, src("x.txt", "# nothing listed today\n"))
	if err != nil || l.Len() != 0 {
		t.Errorf("comment-only list: %v, %v", l, err)
	}
}

// TestSharedData parses the datacenter, VPN and bad-ASN lists in
// ../shared/data, as the default feeds do.
func TestSharedData(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data")
	read := func(names ...string) []Source {
		var out []Source
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatalf("shared data (../shared/data beside the repository): %v", err)
			}
			out = append(out, Source{Name: n, Data: b})
		}
		return out
	}
	dc, res, err := Parse("datacenter", CIDR, Hosting, read("x4bnet-lists-vpn/datacenter-ipv4.txt",
		"x4bnet-lists-vpn/datacenter-ipv6.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if dc.Len() < 40_000 || res.Junk != 0 {
		t.Errorf("datacenter: %d entries, %d junk", dc.Len(), res.Junk)
	}
	if !dc.ContainsAddr(netip.MustParseAddr("1.12.0.1")) {
		t.Error("1.12.0.1 (first line of datacenter-ipv4.txt) not listed")
	}
	asn, res, err := Parse("bad-asn", ASN, Hosting, read("bad-asn-list/bad-asn-list.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if asn.Len() < 700 || res.Junk != 0 || !asn.ContainsASN(51447) {
		t.Errorf("bad-asn: %d entries, %d junk, 51447 listed %v", asn.Len(), res.Junk,
			asn.ContainsASN(51447))
	}
}

// BenchmarkContainsAddr looks addresses up in the X4BNet datacenter list
// (about 51,000 prefixes).
func BenchmarkContainsAddr(b *testing.B) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "x4bnet-lists-vpn")
	var srcs []Source
	for _, n := range []string{"datacenter-ipv4.txt", "datacenter-ipv6.txt"} {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			b.Fatal(err)
		}
		srcs = append(srcs, Source{Name: n, Data: data})
	}
	l, _, err := Parse("datacenter", CIDR, Hosting, srcs)
	if err != nil {
		b.Fatal(err)
	}
	addrs := []netip.Addr{netip.MustParseAddr("1.12.0.1"), netip.MustParseAddr("81.2.69.142"),
		netip.MustParseAddr("2001:418:1401:4::1"), netip.MustParseAddr("2a00:1450:4001::1")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.ContainsAddr(addrs[i&3])
		i++
	}
}
