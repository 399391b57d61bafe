package kafka

import (
	"bytes"
	"context"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/verdictrisk/verdict/engine"
)

// worker decides the records of one partition, in offset order, and marks
// each for commit once its decision — and every decision before it — is
// acknowledged by the broker. Partitions have a worker each, so they are
// decided in parallel and a slow one does not hold the others up.
type worker struct {
	c     *Consumer
	topic string
	part  int32

	mu     sync.Mutex
	queue  []*kgo.Record
	hwm    int64 // high watermark of the last fetch
	paused bool

	wake chan struct{} // a push happened
	quit chan struct{} // closed to stop the worker
	done chan struct{} // closed when the worker has stopped

	// slots bounds the decisions produced and not yet acknowledged.
	slots chan struct{}
	// inflight counts produced records whose promise has not run.
	inflight sync.WaitGroup
	acks     ackTracker
	lag      prometheus.Gauge
}

func newWorker(c *Consumer, topic string, part int32) *worker {
	return &worker{c: c, topic: topic, part: part, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{}),
		slots: make(chan struct{}, c.opts.MaxInFlight), lag: c.met.lagGauge(topic, part)}
}

// push queues fetched records. When the queue is over its bound the
// partition's fetching pauses; the worker resumes it once it has caught up.
// Paused partitions keep their fetch position, so nothing is skipped.
func (w *worker) push(rs []*kgo.Record, hwm int64) {
	w.mu.Lock()
	w.queue = append(w.queue, rs...)
	w.hwm = hwm
	pause := !w.paused && len(w.queue) >= w.c.opts.MaxQueued
	if pause {
		w.paused = true
	}
	w.mu.Unlock()
	if pause {
		w.c.group.PauseFetchPartitions(map[string][]int32{w.topic: {w.part}})
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// take returns the queued records, waiting for some; nil means stop.
func (w *worker) take() []*kgo.Record {
	for {
		w.mu.Lock()
		rs := w.queue
		w.queue = nil
		resume := w.paused && len(rs) > 0
		if resume {
			w.paused = false
		}
		w.mu.Unlock()
		if resume {
			w.c.group.ResumeFetchPartitions(map[string][]int32{w.topic: {w.part}})
		}
		if len(rs) > 0 {
			return rs
		}
		select {
		case <-w.wake:
		case <-w.quit:
			return nil
		}
	}
}

// run decides records until quit is closed, then waits for the decisions
// in flight: a stopping worker finishes what it started, and leaves the
// records it did not start to whoever owns the partition next.
func (w *worker) run() {
	defer close(w.done)
	defer w.inflight.Wait()
	for {
		rs := w.take()
		if rs == nil {
			return
		}
		for _, r := range rs {
			select {
			case <-w.quit:
				return
			default:
			}
			if !w.handle(r) {
				return
			}
		}
	}
}

// handle decides one record and produces its decision or dead letter. It
// returns false when the worker is told to stop while waiting for room.
func (w *worker) handle(src *kgo.Record) bool {
	c := w.c
	// Room first, then the decision: a record decided but never produced
	// would be remembered as decided, and its next owner (this process
	// again) would publish only a repeat of a decision nobody saw.
	select {
	case w.slots <- struct{}{}:
	case <-w.quit:
		// Not decided, not marked: the next owner decides it.
		return false
	}
	c.met.consumed.Inc()
	if c.beforeDecide != nil {
		c.beforeDecide(src)
	}
	out, fe := c.decide(src)
	w.inflight.Add(1)
	w.produce(&delivery{out: out, src: src, seq: w.acks.add(src), fe: fe})
	w.mu.Lock()
	hwm := w.hwm
	w.mu.Unlock()
	w.lag.Set(float64(max(hwm-src.Offset-1, 0)))
	return true
}

// decide turns a source record into the record to produce: its decision,
// or a dead letter with the reason (fe is then the reason).
func (c *Consumer) decide(src *kgo.Record) (out *kgo.Record, fe *engine.FieldError) {
	o := &c.opts
	switch {
	case len(bytes.TrimSpace(src.Value)) == 0:
		// A blank line is as empty as a tombstone, not broken JSON.
		fe = &engine.FieldError{Code: ReasonEmpty,
			Message: "the record has no value, or only whitespace"}
	case len(src.Value) > o.MaxEventBytes:
		fe = &engine.FieldError{Code: ReasonTooLarge,
			Message: "the record is larger than the event limit of " + strconv.Itoa(o.MaxEventBytes) + " bytes"}
	default:
		var ev engine.Event
		err := engine.DecodeEvent(src.Value, &ev)
		var d *engine.Decision
		if err == nil {
			d, err = c.eng.Decide(context.Background(), &ev)
		}
		if err == nil {
			return withSource(decisionRecord(o.DecisionsTopic, &ev, d, OriginKafka), src), nil
		}
		var ok bool
		if fe, ok = fieldError(err); !ok {
			// Decide only fails for a bad event or a cancelled context,
			// and ours is never cancelled; keep the record all the same.
			fe = &engine.FieldError{Code: "internal", Message: err.Error()}
		}
	}
	return deadLetter(o.DeadLetterTopic, src, fe), fe
}

// ackTracker orders the acknowledgements of one partition's records: it
// yields a record for commit only when it and every record before it are
// acknowledged, since committing an offset says all below it are done.
type ackTracker struct {
	mu    sync.Mutex
	head  uint64 // sequence number of recs[0]
	next  uint64
	recs  []*kgo.Record
	acked []bool
}

func (t *ackTracker) add(r *kgo.Record) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.recs = append(t.recs, r)
	t.acked = append(t.acked, false)
	t.next++
	return t.next - 1
}

// ack records that seq was acknowledged and returns the newest record
// whose predecessors are all acknowledged, or nil if that did not change.
func (t *ackTracker) ack(seq uint64) *kgo.Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.acked[seq-t.head] = true
	n := 0
	for n < len(t.acked) && t.acked[n] {
		n++
	}
	if n == 0 {
		return nil
	}
	last := t.recs[n-1]
	clear(t.recs[:n]) // let the popped records be collected
	t.recs, t.acked = t.recs[n:], t.acked[n:]
	t.head += uint64(n)
	return last
}
