//go:build synctests

// This test needs franz-go's synctest-aware locks, which the synctests
// build tag turns on (scripts/test.sh runs this package with it): with
// plain sync.Mutex a client waiting on a lock is not durably blocked, and
// the bubble's clock cannot advance past a session timeout.

package kafka

import (
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/verdictrisk/verdict/engine"
)

// TestCrashAndRestart: a consumer dies mid-stream without committing or
// leaving its group, as a killed process does. Its successor — a fresh
// engine over the same profiles and counters, as after a restart — waits
// out the dead member's session, reads the uncommitted events again,
// answers them with the decisions already published (restored from the
// decisions topic), and goes on: every event has exactly one decision and
// the velocity counts are not doubled.
//
// It runs in a synctest bubble on kfake's virtual network: the real
// session timeout (45s) passes at once.
func TestCrashAndRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newVirtualCluster(t)
		st := newState(t)
		const n, crashAt = 300, 150
		events := failedLogins("r", 0, n, "81.2.69.142")
		produce(t, c.client(t), events[:200]...)

		ks := &killSwitch{dial: c.net.DialContext}
		oa := c.options(kgo.Dialer(ks.Dial))
		oa.SessionTimeout = 45 * time.Second
		oa.CommitInterval = time.Hour // the crash comes before any commit
		oa.ShutdownTimeout = time.Second
		crashed := make(chan struct{})
		frozen := make(chan struct{})
		var first *Consumer
		started := make(chan struct{})
		a := start(t, newEngine(t, st), oa, func(r *kgo.Record) {
			if r.Offset != crashAt {
				return
			}
			<-started
			// Die once every decision made so far is acknowledged: the
			// state then holds exactly the published decisions, as the
			// state of a real process that dies there does.
			for first.prod.BufferedProduceRecords() > 0 {
				time.Sleep(time.Millisecond)
			}
			ks.kill()
			close(crashed)
			<-frozen
		})
		first = a.Consumer
		close(started)
		t.Cleanup(func() { close(frozen) }) // runs before a.stop

		<-crashed
		reg := prometheus.NewRegistry()
		ob := c.options()
		ob.SessionTimeout = 45 * time.Second
		ob.Registerer = reg
		start(t, newEngine(t, st), ob, nil)
		produce(t, c.client(t), events[200:]...)

		all := ids("r", 0, n)
		byID := decisions(t, c, all)
		checkCounts(t, firstDecisions(t, byID, all), n)
		for _, id := range ids("r", 0, crashAt) {
			if len(byID[id]) < 2 {
				t.Errorf("%s: %d decisions; want the first and its reproduction after the restart",
					id, len(byID[id]))
			}
		}
		if got := metricSum(t, reg, "verdict_kafka_restored_decisions_total"); got != crashAt {
			t.Errorf("restored %v decisions, want the %d published before the crash", got, crashAt)
		}
		waitCommitted(t, c, testEvents)
	})
}

// TestRedeliveryWindow: an event sent again within the dedupe window gets
// its first decision back; once the window has passed it is decided anew.
func TestRedeliveryWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newVirtualCluster(t)
		eng := newEngineWith(t, newState(t), engine.Options{DedupeWindow: time.Minute})
		start(t, eng, c.options(), nil)
		cl := c.client(t)
		send := func() {
			produce(t, cl, failedLogins("x", 0, 1, "81.2.69.142")...)
		}
		var seen int
		next := func() decided {
			t.Helper()
			var got []*kgo.Record
			readTopic(t, c, testDecisions, func(rs []*kgo.Record) bool {
				got = rs
				return len(rs) > seen
			})
			seen++
			var d decided
			if err := json.Unmarshal(got[seen-1].Value, &d); err != nil {
				t.Fatal(err)
			}
			return d
		}
		send()
		first := next()
		time.Sleep(30 * time.Second)
		send()
		if again := next(); !again.Repeated || again.ID != first.ID {
			t.Errorf("30 seconds later: decision %s (repeated %v), want %s again",
				again.ID, again.Repeated, first.ID)
		}
		time.Sleep(3 * time.Minute)
		send()
		if late := next(); late.Repeated || late.ID == first.ID {
			t.Errorf("3 minutes later: decision %s (repeated %v), want a new decision",
				late.ID, late.Repeated)
		}
	})
}
