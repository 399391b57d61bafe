package network

import (
	"errors"
	"net/netip"
	"testing"
)

func TestKind(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"8.8.8.8", Public},
		{"::ffff:8.8.8.8", Public},
		{"10.1.2.3", Private},
		{"::ffff:192.168.1.1", Private},
		{"172.31.255.255", Private},
		{"172.32.0.1", Public},
		{"100.64.0.1", CGNAT},
		{"100.127.255.255", CGNAT},
		{"100.128.0.1", Public},
		{"127.0.0.1", Loopback},
		{"::1", Loopback},
		{"169.254.10.10", LinkLocal},
		{"fe80::1", LinkLocal},
		{"fd12:3456::1", Private},
		{"fc00::1", Private},
		{"224.0.0.251", Multicast},
		{"ff02::1", Multicast},
		{"0.0.0.0", Unspecified},
		{"::", Unspecified},
		{"192.0.2.10", Reserved},
		{"2001:db8::1", Reserved},
		{"240.0.0.1", Reserved},
		{"2a00:1450:4001:80b::200e", Public},
		{"4000::1", Reserved},
	}
	for _, tc := range tests {
		if got := Kind(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("Kind(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

func TestPrefix(t *testing.T) {
	tests := []struct {
		addr string
		want string
	}{
		{"203.0.114.77", "203.0.114.0/24"},
		{"::ffff:203.0.114.77", "203.0.114.0/24"},
		{"2a02:8070:1:2:3:4:5:6", "2a02:8070:1:2::/64"},
	}
	for _, tc := range tests {
		if got := Prefix(netip.MustParseAddr(tc.addr), 24, 64).String(); got != tc.want {
			t.Errorf("Prefix(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
	// Rotation inside a /64 lands on one key.
	a := Prefix(netip.MustParseAddr("2a02:8070:1:2::1"), 24, 64)
	b := Prefix(netip.MustParseAddr("2a02:8070:1:2:ffff::9"), 24, 64)
	if a != b {
		t.Errorf("%v != %v", a, b)
	}
}

func TestClientIP(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", "2001:db8:1::/48", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer, xff, fwd, want string
		bad                        bool
	}{
		{"untrusted peer ignores header", "203.0.113.9", "1.1.1.1", "", "203.0.113.9", false},
		{"one proxy", "10.0.0.5", "198.51.100.7", "", "198.51.100.7", false},
		{"spoofed leftmost ignored", "10.0.0.5", "6.6.6.6, 198.51.100.7", "", "198.51.100.7", false},
		{"chain of proxies", "10.0.0.5", "6.6.6.6, 198.51.100.7, 10.9.9.9, 192.0.2.1", "", "198.51.100.7", false},
		{"port", "10.0.0.5", "198.51.100.7:5123", "", "198.51.100.7", false},
		{"ipv6 brackets and port", "10.0.0.5", "[2001:db8:cafe::17]:4711", "", "2001:db8:cafe::17", false},
		{"ipv6 zone", "10.0.0.5", "fe80::1%eth0", "", "fe80::1", false},
		{"mapped", "::ffff:10.0.0.5", "::ffff:198.51.100.7", "", "198.51.100.7", false},
		{"all trusted", "10.0.0.5", "10.1.1.1", "", "10.1.1.1", false},
		{"empty header", "10.0.0.5", "", "", "10.0.0.5", false},
		{"several header lines", "10.0.0.5", "6.6.6.6,198.51.100.7 , 10.2.2.2", "", "198.51.100.7", false},
		{"junk hop", "10.0.0.5", "198.51.100.7, garbage", "", "10.0.0.5", true},
		{"forwarded", "10.0.0.5", "6.6.6.6",
			`for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, for=10.3.3.3;by=10.0.0.5`,
			"2001:db8:cafe::17", false},
		{"forwarded obfuscated", "10.0.0.5", "", `for=_hidden`, "10.0.0.5", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := proxies.ClientIP(netip.MustParseAddr(tc.peer), tc.xff, tc.fwd)
			if got.String() != tc.want {
				t.Errorf("client = %s, want %s", got, tc.want)
			}
			if bad := errors.Is(err, ErrBadHop); bad != tc.bad {
				t.Errorf("err = %v, want bad hop %v", err, tc.bad)
			}
		})
	}
}

func TestNoProxiesTrustsNobody(t *testing.T) {
	var p *Proxies
	got, err := p.ClientIP(netip.MustParseAddr("10.0.0.5"), "198.51.100.7", "")
	if err != nil || got.String() != "10.0.0.5" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestParseProxiesErrors(t *testing.T) {
	if _, err := ParseProxies([]string{"10.0.0.0/8", "nonsense"}); err == nil {
		t.Fatal("want error")
	}
}

func BenchmarkKind(b *testing.B) {
	a := netip.MustParseAddr("81.2.69.142")
	for b.Loop() {
		Kind(a)
	}
}

func TestPrefixKind(t *testing.T) {
	tests := []struct{ prefix, want string }{
		{"93.184.216.0/24", Public},
		{"10.0.0.0/8", Private},
		{"10.1.0.0/16", Private},
		{"100.64.0.0/10", CGNAT},
		{"96.0.0.0/3", CGNAT}, // contains 100.64.0.0/10
		{"0.0.0.0/0", Unspecified},
		{"224.0.0.0/3", Multicast},
		{"::ffff:192.168.0.0/112", Private},
		{"2001:db8::/48", Reserved},
		{"fd00::/8", Private},
		{"2a00:1450::/32", Public},
		{"::/0", Unspecified},
		{"4000::/16", Reserved},
	}
	for _, tc := range tests {
		if got := PrefixKind(netip.MustParsePrefix(tc.prefix)); got != tc.want {
			t.Errorf("PrefixKind(%s) = %s, want %s", tc.prefix, got, tc.want)
		}
	}
}
