package kafka

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// producesTo returns a test of whether a produce request writes to topic,
// named (up to v12) or by id (v13 on).
func producesTo(c *cluster, topic string) func(kmsg.Request) bool {
	id := c.TopicInfo(topic).TopicID
	return func(req kmsg.Request) bool {
		p, ok := req.(*kmsg.ProduceRequest)
		if !ok {
			return false
		}
		for _, t := range p.Topics {
			if t.Topic == topic || t.TopicID == id {
				return true
			}
		}
		return false
	}
}

// dropEvery closes the connection of the first n requests of key that
// match, as a broker restart or a network cut does.
func dropEvery(c *cluster, key kmsg.Key, n int32, match func(kmsg.Request) bool) *atomic.Int32 {
	var dropped atomic.Int32
	c.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if (match != nil && !match(req)) || dropped.Load() >= n {
			return nil, nil, false
		}
		dropped.Add(1)
		return nil, errors.New("connection cut by the test"), true
	})
	return &dropped
}

// endOffsets lists the end offset of each partition of topic.
func endOffsets(t *testing.T, c *cluster, topic string) map[int32]int64 {
	t.Helper()
	ends, err := kadm.NewClient(c.client(t)).ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// TestProduceFaults: decisions whose produce fails — the connection cut,
// a retriable error franz-go retries, an error it gives up on and we retry
// (an authorization error concerns every record, not one) — are all
// produced in the end, every offset is decided, and the commits reach the
// end.
func TestProduceFaults(t *testing.T) {
	c := newCluster(t)
	events := failedLogins("f", 0, 300, "81.2.69.142")
	produce(t, c.client(t), events[:100]...)

	cut := dropEvery(c, kmsg.Produce, 3, producesTo(c, testDecisions))
	faults := c.Fault(
		kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: testDecisions,
			Err: kerr.NotLeaderForPartition, Count: 3},
		kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: testDecisions,
			Err: kerr.TopicAuthorizationFailed, Count: 2})
	var log offsetLog
	o := c.options()
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	start(t, newEngine(t, newState(t)), o, log.hook)
	produce(t, c.client(t), events[100:]...)

	want := ids("f", 0, 300)
	checkCounts(t, firstDecisions(t, decisions(t, c, want), want), 300)
	waitCommitted(t, c, testEvents)
	log.checkContiguous(t, endOffsets(t, c, testEvents))
	if cut.Load() != 3 || faults.Hits() < 5 {
		t.Errorf("faults injected: %d cuts, %d errors; want 3 and 5", cut.Load(), faults.Hits())
	}
	if got := metricSum(t, reg, "verdict_kafka_produce_errors_total"); got < 2 {
		t.Errorf("produce_errors_total = %v, want the 2 given-up errors at least", got)
	}
}

// TestCommitWaitsForAcks: while the broker holds the decisions back, the
// decided events are not committed; once it lets them through, they are.
func TestCommitWaitsForAcks(t *testing.T) {
	c := newCluster(t)
	produce(t, c.client(t), failedLogins("w", 0, 50, "81.2.69.142")...)

	release := make(chan struct{})
	var held atomic.Int32
	toDecisions := producesTo(c, testDecisions)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if toDecisions(req) {
			held.Add(1)
			c.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	var decided atomic.Int32
	start(t, newEngine(t, newState(t)), c.options(), func(*kgo.Record) { decided.Add(1) })

	deadline := time.Now().Add(10 * time.Second)
	for decided.Load() < 50 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // five commit intervals
	adm := kadm.NewClient(c.client(t))
	committed, err := adm.FetchOffsets(context.Background(), testGroup)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatal(err)
	}
	committed.Each(func(o kadm.OffsetResponse) {
		if o.At > 0 {
			t.Errorf("partition %d committed at %d while its decisions were unacknowledged",
				o.Partition, o.At)
		}
	})
	if decided.Load() < 50 || held.Load() == 0 {
		t.Fatalf("decided %d of 50 events, %d produce requests held", decided.Load(), held.Load())
	}
	close(release)
	waitCommitted(t, c, testEvents)
}

// TestFetchAndCommitFaults: failed fetches, cut fetch connections and
// failed commits delay the stream but lose and skip nothing.
func TestFetchAndCommitFaults(t *testing.T) {
	c := newCluster(t)
	events := failedLogins("g", 0, 200, "81.2.69.142")
	produce(t, c.client(t), events[:100]...)
	cut := dropEvery(c, kmsg.Fetch, 2, nil)
	c.Fault(
		kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: testEvents, Err: kerr.NotLeaderForPartition,
			Count: 3},
		kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.CoordinatorNotAvailable,
			Count: 3},
		kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.UnknownServerError, Count: 2})
	var log offsetLog
	start(t, newEngine(t, newState(t)), c.options(), log.hook)
	produce(t, c.client(t), events[100:]...)

	want := ids("g", 0, 200)
	checkCounts(t, firstDecisions(t, decisions(t, c, want), want), 200)
	waitCommitted(t, c, testEvents)
	log.checkContiguous(t, endOffsets(t, c, testEvents))
	if cut.Load() != 2 {
		t.Errorf("%d fetch connections cut, want 2", cut.Load())
	}
}

// TestSlowPartition: a partition whose decisions hang does not stop the
// others, and its own events are decided once it recovers.
func TestSlowPartition(t *testing.T) {
	c := newCluster(t)
	o := c.options()
	o.MaxQueued = 8
	stuck := make(chan struct{})
	var once sync.Once
	unstick := func() { once.Do(func() { close(stuck) }) }
	t.Cleanup(unstick)
	start(t, newEngine(t, newState(t)), o, func(r *kgo.Record) {
		if r.Partition == 0 {
			<-stuck
		}
	})
	var slow, fast []*kgo.Record
	var fastIDs []string
	for i := range 200 {
		r := &kgo.Record{Topic: testEvents, Partition: int32(i % testParts),
			Value: event("s", i, "u"+itoa(i), "81.2.69.142")}
		if r.Partition == 0 {
			slow = append(slow, r)
		} else {
			fast = append(fast, r)
			fastIDs = append(fastIDs, "s-"+itoa(i))
		}
	}
	manual := c.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produce(t, manual, append(slow, fast...)...)

	firstDecisions(t, decisions(t, c, fastIDs), fastIDs)
	unstick()
	all := ids("s", 0, 200)
	firstDecisions(t, decisions(t, c, all), all)
	waitCommitted(t, c, testEvents)
}
