package engine

// BenchmarkEnrichNetwork measures the network part of enrichment for one
// event: client address through trusted proxies, kind, /24 or /64 key, city,
// ASN and every network list. It runs on the downloaded data when
// VERDICT_DATA names the data folder (`make bench` sets it when data/
// exists), with the lists that `make data` puts in data/lists/, and
// otherwise on the geotest fixture with the shared lists beside the
// repository. "cold" decodes every city record (the record cache off, as for
// addresses never seen); "cached" is the steady state of a busy service.

import (
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/verdictrisk/verdict/feeds/refdata"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/geo"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
	"github.com/verdictrisk/verdict/signals/network"
)

func BenchmarkEnrichNetwork(b *testing.B) {
	dir, addrs := benchData(b)
	m, err := refdata.Open(b.Context(), refdata.Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	b.Logf("data %s; lists: %d, missing: %v", dir, m.Lists().Len(), m.Missing())
	set, err := rules.Default()
	if err != nil {
		b.Fatal(err)
	}
	proxies, _ := network.ParseProxies([]string{"10.0.0.0/8"})
	for _, bc := range []struct {
		name  string
		cache int
	}{{"cold", -1}, {"cached", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			city, err := geo.OpenCityWith(geo.CityOptions{CacheSize: bc.cache}, cityFiles(m)...)
			if err != nil {
				b.Fatal(err)
			}
			e, err := New(Options{Rules: set, City: city, ASN: m.ASN(), Lists: m.Lists(),
				Disposable: m.Disposable(), Devices: m.Devices(), Proxies: proxies})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			evs := make([]Event, len(addrs))
			for i, a := range addrs {
				evs[i] = Event{addr: netip.MustParseAddr("10.1.2.3"), ForwardedFor: a.String()}
			}
			var s signals.Set
			if bc.cache == 0 {
				for i := range evs { // warm the record cache
					e.enrichNetwork(&evs[i], &s)
					s.Reset()
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ev := &evs[i%len(evs)]
				ev.addr = netip.MustParseAddr("10.1.2.3") // the proxy, again
				e.enrichNetwork(ev, &s)
				s.Reset()
				i++
			}
		})
	}
}

// cityFiles are the files the city feed loaded.
func cityFiles(m *refdata.Manager) []string {
	var out []string
	for _, src := range m.Feed(refdata.FeedCity).Status().Sources {
		out = append(out, filepath.Join(m.DataDir(), src))
	}
	return out
}

// benchData returns the data folder and 4,096 addresses to look up: random
// public addresses (three IPv4 to one IPv6) on real data, the fixture's
// places otherwise.
func benchData(b *testing.B) (string, []netip.Addr) {
	rng := rand.New(rand.NewPCG(7, 11))
	if dir := os.Getenv("VERDICT_DATA"); dir != "" {
		var addrs []netip.Addr
		for len(addrs) < 4096 {
			var a netip.Addr
			if len(addrs)%4 == 3 {
				var b16 [16]byte
				b16[0] = 0x20 | byte(rng.IntN(16)) // 2000::/4, mostly allocated
				for j := 1; j < 16; j++ {
					b16[j] = byte(rng.Uint32())
				}
				a = netip.AddrFrom16(b16)
			} else {
				u := rng.Uint32()
				a = netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
			}
			if network.IsPublic(a) {
				addrs = append(addrs, a)
			}
		}
		return dir, addrs
	}
	dir := b.TempDir()
	world, err := geotest.Fixture(dir)
	if err != nil {
		b.Fatal(err)
	}
	copySharedLists(b, dir)
	var addrs []netip.Addr
	for len(addrs) < 4096 {
		p := world.Places[rng.IntN(len(world.Places))]
		addrs = append(addrs, p.Addr4())
	}
	return dir, addrs
}

// copySharedLists puts the real-size X4BNet and bad-ASN lists over the
// fixture's tiny ones when the shared data folder is there.
func copySharedLists(b *testing.B, dir string) {
	shared := filepath.Join("..", "..", "shared", "data")
	for src, dst := range map[string]string{
		"x4bnet-lists-vpn/datacenter-ipv4.txt": "datacenter-ipv4.txt",
		"x4bnet-lists-vpn/datacenter-ipv6.txt": "datacenter-ipv6.txt",
		"x4bnet-lists-vpn/vpn-ipv4.txt":        "vpn-ipv4.txt",
		"x4bnet-lists-vpn/vpn-ipv6.txt":        "vpn-ipv6.txt",
		"bad-asn-list/bad-asn-list.csv":        "bad-asn-list.csv",
	} {
		data, err := os.ReadFile(filepath.Join(shared, src))
		if err != nil {
			b.Logf("fixture lists only: %v", err)
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "lists", dst), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
