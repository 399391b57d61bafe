package kafka

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var addresses = []string{"81.2.69.142", "81.2.69.160", "203.0.113.9", "198.51.100.7"}

// spread are failed logins from the four addresses in turn, events
// from..to-1 of prefix.
func spread(prefix string, from, to int) []*kgo.Record {
	var rs []*kgo.Record
	for i := from; i < to; i++ {
		ip := addresses[i%len(addresses)]
		rs = append(rs, &kgo.Record{Topic: testEvents, Key: []byte(ip),
			Value: event(prefix, i, "u"+itoa(i), ip)})
	}
	return rs
}

// checkSpreadCounts checks checkCounts for each address of spread.
func checkSpreadCounts(t *testing.T, first map[string]decided, n int) {
	t.Helper()
	for k := range addresses {
		of := map[string]decided{}
		for id, d := range first {
			i := strings.LastIndexByte(id, '-')
			if num := id[i+1:]; atoi(num)%len(addresses) == k {
				of[id] = d
			}
		}
		checkCounts(t, of, n/len(addresses))
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestRebalance: a second member joins mid-stream and the first leaves
// mid-stream; every event is decided, and — the two members sharing one
// engine, as instances sharing state would — none is counted twice though
// the partitions that moved had events redelivered.
func TestRebalance(t *testing.T) {
	c := newCluster(t)
	eng := newEngine(t, newState(t))
	var log offsetLog
	var byA, byB atomic.Int32
	producer := c.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	a := start(t, eng, c.options(), func(r *kgo.Record) { log.hook(r); byA.Add(1) })
	produce(t, producer, spread("b", 0, 200)...)
	firstDecisions(t, decisions(t, c, ids("b", 0, 50)), ids("b", 0, 50))

	start(t, eng, c.options(), func(r *kgo.Record) { log.hook(r); byB.Add(1) })
	produce(t, producer, spread("b", 200, 400)...)
	if _, err := c.WaitGroupStable(ctx, testGroup, 2); err != nil {
		t.Fatalf("the second member did not join: %v", err)
	}
	produce(t, producer, spread("b", 400, 600)...)

	a.stop()
	if _, err := c.WaitGroupStable(ctx, testGroup, 1); err != nil {
		t.Fatalf("the first member did not leave: %v", err)
	}
	produce(t, producer, spread("b", 600, 800)...)

	all := ids("b", 0, 800)
	first := firstDecisions(t, decisions(t, c, all), all)
	checkSpreadCounts(t, first, 800)
	waitCommitted(t, c, testEvents)
	log.checkContiguous(t, endOffsets(t, c, testEvents))
	if byA.Load() == 0 || byB.Load() == 0 {
		t.Errorf("member A decided %d records, B %d: the partitions did not move", byA.Load(), byB.Load())
	}
}
