package kafka

import (
	"encoding/json"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestErasedUserNotRestored: a user erased before a restart does not come
// back with it. The restarted process rebuilds its dedupe memory from the
// decisions topic, which still holds the erased user's decision; the same
// event sent again is decided anew, not answered with that decision.
// Another user's decision is restored as before.
func TestErasedUserNotRestored(t *testing.T) {
	c := newCluster(t)
	st := newState(t)
	eng := newEngine(t, st)
	const ip = "81.2.69.142"
	events := func() []*kgo.Record {
		return []*kgo.Record{
			{Topic: testEvents, Key: []byte(ip), Value: event("z", 1, "erased", ip)},
			{Topic: testEvents, Key: []byte(ip), Value: event("z", 2, "kept", ip)}}
	}
	a := start(t, eng, c.options(), nil)
	produce(t, c.client(t), events()...)
	want := ids("z", 1, 3)
	first := firstDecisions(t, decisions(t, c, want), want)
	waitCommitted(t, c, testEvents)
	if _, err := eng.Erase("", "erased"); err != nil {
		t.Fatal(err)
	}
	a.stop()

	// The same events again, waiting for the next process.
	produce(t, c.client(t), events()...)
	o := c.options()
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	start(t, newEngine(t, st), o, nil)
	// A user's decisions share a partition, so they are read in order.
	second := map[string]decided{}
	readTopic(t, c, testDecisions, func(rs []*kgo.Record) bool {
		byID := map[string][]decided{}
		for _, r := range rs {
			var d decided
			if err := json.Unmarshal(r.Value, &d); err != nil {
				t.Fatal(err)
			}
			if byID[d.EventID] = append(byID[d.EventID], d); len(byID[d.EventID]) == 2 {
				second[d.EventID] = d
			}
		}
		return len(second) == 2
	})
	if d := second["z-1"]; d.Repeated || d.ID == first["z-1"].ID {
		t.Errorf("erased user's event after the restart: decision %s (repeated %v); want a new one",
			d.ID, d.Repeated)
	}
	if d := second["z-2"]; !d.Repeated || d.ID != first["z-2"].ID {
		t.Errorf("kept user's event after the restart: decision %s (repeated %v); want %s again",
			d.ID, d.Repeated, first["z-2"].ID)
	}
	if got := metricSum(t, reg, "verdict_kafka_restored_decisions_total"); got != 1 {
		t.Errorf("restored %v decisions, want the kept user's only", got)
	}
}
