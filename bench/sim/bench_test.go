package sim

import (
	"io"
	"testing"
)

// BenchmarkGenerate makes the default sample stream (300 users, 21 days, the
// default attackers) in the fixture world and writes it.
func BenchmarkGenerate(b *testing.B) {
	w := simWorld(b)
	b.ReportAllocs()
	for b.Loop() {
		recs, err := Generate(w, Config{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if err := Write(io.Discard, recs); err != nil {
			b.Fatal(err)
		}
	}
}
