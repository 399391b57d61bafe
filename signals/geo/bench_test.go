package geo_test

// The benchmarks run on the downloaded data when VERDICT_DATA names its
// directory (the one scripts/fetch-data.sh fills), for example
//
//	VERDICT_DATA=$PWD/data go test -run '^$' -bench . -benchmem ./signals/geo/
//
// and otherwise on synthetic data of the same shape and size, written into a
// temporary directory, so they always run and stay comparable over time.

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/verdictrisk/verdict/signals/geo"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// realDataDir returns $VERDICT_DATA, or "" when it is not set.
func realDataDir(b *testing.B) string {
	dir := os.Getenv("VERDICT_DATA")
	if dir != "" {
		b.Logf("using the data in %s", dir)
	}
	return dir
}

// synthSize is the shape of the real ip-location-db ASN files.
const (
	synthASN4   = 412_000
	synthASN6   = 103_000
	synthOrgs   = 80_000
	synthCities = 20_000
)

// synthASNFiles writes ASN CSV files of the real size: consecutive ranges with
// gaps, a few organisations needing quotes.
func synthASNFiles(b *testing.B) (p4, p6 string) {
	rng := rand.New(rand.NewPCG(1, 2))
	org := func() (uint32, string) {
		n := rng.IntN(synthOrgs)
		if n%10 == 0 {
			return uint32(n + 1), fmt.Sprintf("Network Operator %d, Inc.", n)
		}
		return uint32(n + 1), fmt.Sprintf("Network Operator %d", n)
	}
	var r4, r6 []geotest.ASN
	a4 := netip.MustParseAddr("1.0.0.0")
	for range synthASN4 {
		asn, o := org()
		end := addN(a4, 255+rng.IntN(4)*256)
		r4 = append(r4, geotest.ASN{Start: a4.String(), End: end.String(), ASN: asn, Org: o})
		a4 = addN(end, 1+rng.IntN(2)*256)
	}
	hi := uint64(0x2001_0200) << 32
	for range synthASN6 {
		asn, o := org()
		start := netip.AddrFrom16(u128Bytes(hi, 0))
		hi += 1 + uint64(rng.IntN(64))
		end := netip.AddrFrom16(u128Bytes(hi-1, ^uint64(0)))
		r6 = append(r6, geotest.ASN{Start: start.String(), End: end.String(), ASN: asn, Org: o})
		hi += uint64(rng.IntN(2))
	}
	return writeASNCSVs(b, r4, r6)
}

func addN(a netip.Addr, n int) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func u128Bytes(hi, lo uint64) [16]byte {
	var b [16]byte
	for i := range 8 {
		b[i], b[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	return b
}

// synthCityFiles writes DB-IP city files over the address space of
// synthASNFiles (IPv4 /20s and IPv6 /56s), with many networks sharing a
// smaller set of records, as the real data does.
func synthCityFiles(b *testing.B) (p4, p6 string) {
	rng := rand.New(rand.NewPCG(3, 4))
	city := func(prefix netip.Prefix) geotest.City {
		n := rng.IntN(synthCities)
		return geotest.City{Prefix: prefix.String(), Country: "DE",
			Region: fmt.Sprintf("Region %d", n%40), City: fmt.Sprintf("City %d", n),
			Lat: float64(n%180) - 89.5, Lon: float64(n%360) - 179.5}
	}
	var c4, c6 []geotest.City
	for i := range 80_000 {
		if a := addN(netip.MustParseAddr("1.0.0.0"), i<<12); !a.IsPrivate() {
			c4 = append(c4, city(netip.PrefixFrom(a, 20)))
		}
	}
	for i := range 14_000 {
		a := netip.AddrFrom16(u128Bytes(uint64(0x2001_0200)<<32+uint64(i)<<8, 0))
		c6 = append(c6, city(netip.PrefixFrom(a, 56)))
	}
	dir := b.TempDir()
	p4, p6 = filepath.Join(dir, "c4.mmdb"), filepath.Join(dir, "c6.mmdb")
	if err := geotest.WriteDBIPCity(p4, 4, c4); err != nil {
		b.Fatal(err)
	}
	if err := geotest.WriteDBIPCity(p6, 6, c6); err != nil {
		b.Fatal(err)
	}
	return p4, p6
}

// benchAddrs picks addresses that mostly hit: the first host of ranges taken
// from the ASN data, plus every 16th address a random one.
func benchAddrs(ranges []netip.Addr, n int) []netip.Addr {
	rng := rand.New(rand.NewPCG(5, 6))
	out := make([]netip.Addr, 0, n)
	for len(out) < n {
		if len(out)%16 == 15 {
			out = append(out, netip.AddrFrom4([4]byte{byte(rng.Uint32()), 1, 2, 3}))
			continue
		}
		out = append(out, ranges[rng.IntN(len(ranges))].Next())
	}
	return out
}

// benchFiles returns the city and ASN files for the benchmarks: the real ones
// when VERDICT_DATA is set, else synthetic ones (city files only when city is
// true, since writing them takes a few seconds).
func benchFiles(b *testing.B, city bool) (c4, c6, a4, a6 string) {
	b.Helper()
	if dir := realDataDir(b); dir != "" {
		return filepath.Join(dir, geo.CityIPv4File), filepath.Join(dir, geo.CityIPv6File),
			filepath.Join(dir, geo.ASNIPv4File), filepath.Join(dir, geo.ASNIPv6File)
	}
	if city {
		c4, c6 = synthCityFiles(b)
	}
	a4, a6 = synthASNFiles(b)
	return c4, c6, a4, a6
}

// benchAddrsFrom returns lookup addresses of each family taken from the ASN
// files' ranges.
func benchAddrsFrom(b *testing.B, a4, a6 string) (v4, v6 []netip.Addr) {
	return benchAddrs(rangeStarts(b, a4), 4096), benchAddrs(rangeStarts(b, a6), 4096)
}

// benchLookups runs lookup over the addresses of each family as
// sub-benchmarks, after one pass that fills any cache.
func benchLookups[T any](b *testing.B, v4, v6 []netip.Addr, lookup func(netip.Addr) (T, bool)) {
	for _, fam := range []struct {
		name  string
		addrs []netip.Addr
	}{{"ipv4", v4}, {"ipv6", v6}} {
		b.Run(fam.name, func(b *testing.B) {
			for _, a := range fam.addrs {
				lookup(a)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				lookup(fam.addrs[i%len(fam.addrs)])
				i++
			}
		})
	}
}

// rangeStarts reads the first address of every line of an ASN CSV file.
func rangeStarts(b *testing.B, path string) []netip.Addr {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var out []netip.Addr
	for i, j := 0, 0; i < len(data); i = j + 1 {
		j = i
		for j < len(data) && data[j] != '\n' {
			j++
		}
		k := i
		for k < j && data[k] != ',' {
			k++
		}
		if a, err := netip.ParseAddr(string(data[i:k])); err == nil {
			out = append(out, a)
		}
	}
	return out
}

func BenchmarkCityLookup(b *testing.B) {
	c4, c6, a4, a6 := benchFiles(b, true)
	v4, v6 := benchAddrsFrom(b, a4, a6)
	for _, bc := range []struct {
		name string
		opts geo.CityOptions
	}{{"warm", geo.CityOptions{}}, {"cold", geo.CityOptions{CacheSize: -1}}} {
		b.Run(bc.name, func(b *testing.B) {
			city, err := geo.OpenCityWith(bc.opts, c4, c6)
			if err != nil {
				b.Fatal(err)
			}
			benchLookups(b, v4, v6, city.Lookup)
		})
	}
}

// BenchmarkCityLookupParallel shows that warm lookups do not contend.
func BenchmarkCityLookupParallel(b *testing.B) {
	c4, c6, a4, a6 := benchFiles(b, true)
	v4, _ := benchAddrsFrom(b, a4, a6)
	city, err := geo.OpenCity(c4, c6)
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range v4 {
		city.Lookup(a)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			city.Lookup(v4[i%len(v4)])
			i++
		}
	})
}

func BenchmarkASNLookup(b *testing.B) {
	_, _, a4, a6 := benchFiles(b, false)
	asn, err := geo.OpenASNCSV(a4, a6)
	if err != nil {
		b.Fatal(err)
	}
	v4, v6 := benchAddrsFrom(b, a4, a6)
	benchLookups(b, v4, v6, asn.Lookup)
}

// BenchmarkASNLoad measures loading the ASN CSV files and reports the heap
// the loaded database keeps (retained-MB).
func BenchmarkASNLoad(b *testing.B) {
	_, _, a4, a6 := benchFiles(b, false)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := geo.OpenASNCSV(a4, a6); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	db, err := geo.OpenASNCSV(a4, a6)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "retained-MB")
	b.ReportMetric(float64(db.Len()), "ranges")
	runtime.KeepAlive(db)
}
