package email

import (
	"fmt"
	"testing"
)

func BenchmarkNormalize(b *testing.B) {
	for _, in := range []struct{ name, addr string }{
		{"plain", "alice.smith@example.com"},
		{"upper", "Alice.Smith@Example.com"},
		{"gmail", "Alice.Smith+shop@gmail.com"},
		{"idn", "info@bücher.de"},
		{"confusable", "p\u0430ypal@example.com"},
	} {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(in.addr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDomainsContains looks domains up in a set the size of the
// disposable-email-domains list (about 120,000 entries).
func BenchmarkDomainsContains(b *testing.B) {
	list := make([]string, 120000)
	for i := range list {
		list[i] = fmt.Sprintf("disposable-%d.com", i)
	}
	d := NewDomains(list)
	for _, in := range []struct{ name, domain string }{
		{"hit", "disposable-4242.com"},
		{"subdomain hit", "a.b.disposable-4242.com"},
		{"miss", "mail.example.org"},
	} {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d.Contains(in.domain)
			}
		})
	}
}
