package device

import (
	"strconv"
	"testing"
)

var benchHeaders = headers{
	"sec-ch-ua":                   brands131,
	"sec-ch-ua-full-version-list": full131,
	"sec-ch-ua-platform":          quotedWin,
	"sec-ch-ua-platform-version":  `"15.0.0"`,
	"sec-ch-ua-mobile":            "?0",
}

// BenchmarkParseWarm is the common case: a user agent already in the cache,
// with a full set of client hints to apply.
func BenchmarkParseWarm(b *testing.B) {
	p := newTestParser(b, Options{})
	uas := []string{uaChromeWin, uaSafariIPhone, uaFirefoxWin, uaChromeAndroid}
	for _, ua := range uas {
		p.Parse(ua, benchHeaders.get)
	}
	p.cache.Wait()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Parse(uas[i%len(uas)], benchHeaders.get)
	}
}

// BenchmarkParseCold parses user agents never seen before, as an attacker
// rotating random user agents forces.
func BenchmarkParseCold(b *testing.B) {
	for _, tt := range []struct{ name, ua string }{
		{"chrome", uaChromeWin},
		{"iphone", uaSafariIPhone},
		{"curl", uaCurl},
	} {
		b.Run(tt.name, func(b *testing.B) {
			p := newTestParser(b, Options{})
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// A unique suffix defeats the cache as rotation would.
				p.Parse(tt.ua+" r/"+strconv.Itoa(i), benchHeaders.get)
			}
		})
	}
}

func BenchmarkFingerprint(b *testing.B) {
	b.Run("headers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Fingerprint("", uaChromeWin, "en-GB,en;q=0.9", "Europe/London", "1920x1080")
		}
	})
	b.Run("device id", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Fingerprint("0f8c1a6e-4b1d-4c55-9d7e-2b9f0c3e7a11", uaChromeWin, "en-GB", "Europe/London", "")
		}
	})
	b.Run("hex", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			hexSink = FingerprintHex(uint64(i))
		}
	})
}
