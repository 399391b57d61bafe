package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkDecideRecord is the consumer's work for one event record besides
// the client: decode, decide, and the decision record to produce.
func BenchmarkDecideRecord(b *testing.B) {
	c := &Consumer{eng: newEngine(b, newState(b)), opts: DefaultOptions}
	src := &kgo.Record{Topic: testEvents, Partition: 3, Offset: 42}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// A fresh id each time, so that the engine decides rather than
		// answering from its dedupe memory.
		src.Value = event("bench", i, "u1", "81.2.69.142")
		if _, dead := c.decide(src); dead != nil {
			b.Fatalf("dead letter: %v", dead)
		}
	}
}
