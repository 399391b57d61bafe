package kafka

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/verdictrisk/verdict/engine"
)

// delivery is the record produced for one source record — its decision or
// a dead letter — and what is needed to retry it or fall back.
type delivery struct {
	out *kgo.Record
	src *kgo.Record
	seq uint64 // src's place in the worker's ackTracker
	// fe is the dead-letter reason; nil while out is a decision.
	fe *engine.FieldError
	// stripped: out is a dead letter without the source's key, value and
	// headers, the last thing tried.
	stripped bool
	// alone: out goes on the single-record producer.
	alone bool
	tries int // failed attempts, for the pause before the next
}

func (d *delivery) kind() string {
	if d.fe != nil {
		return "dead_letters"
	}
	return "decisions"
}

// produce sends d's record and, once the broker has it, marks its source
// for commit. It may block (the single-record producer takes one record at
// a time), so failures call it from a goroutine of their own.
func (w *worker) produce(d *delivery) {
	cl := w.c.prod
	if d.alone {
		cl = w.c.alone
	}
	cl.Produce(context.Background(), d.out, func(_ *kgo.Record, err error) {
		if err != nil {
			w.failed(d, err)
			return
		}
		c := w.c
		if d.fe != nil {
			c.met.deadLetters.WithLabelValues(d.fe.Code).Inc()
		} else {
			c.met.fromKafka.Inc()
		}
		c.met.endToEnd.Observe(since(d.src.Timestamp, time.Now()).Seconds())
		w.finish(d)
	})
}

// finish marks d's source for commit once every record before it is
// finished too, and frees its slot.
func (w *worker) finish(d *delivery) {
	if last := w.acks.ack(d.seq); last != nil {
		w.c.group.MarkCommitRecords(last)
	}
	<-w.slots
	w.inflight.Done()
}

// failed decides what follows a failed produce. franz-go retries retriable
// errors itself; one that reaches us is retried here with a growing pause
// while the partition's commits wait, so that a decision is not skipped
// because the brokers are unwell. A record the broker refuses for good is
// produced once more alone, since a refusal covers a whole batch: one
// oversized decision fails the decisions batched with it. Refused alone
// too, it is the record's fault, and fallBack replaces it.
func (w *worker) failed(d *delivery, err error) {
	c := w.c
	c.met.produceErrs.WithLabelValues(d.kind()).Inc()
	d.out = retryCopy(d.out)
	switch {
	case errors.Is(err, kgo.ErrClientClosed):
		// Shutting down: not acknowledged, so not committed.
		<-w.slots
		w.inflight.Done()
	case !refusedForGood(err):
		if c.prodLog.allow() {
			c.log.Error("produce failed; retrying, the partition's commits wait", "topic",
				d.out.Topic, "partition", w.part, "offset", d.src.Offset, "attempt", d.tries+1,
				"err", err)
		}
		pause := min(100*time.Millisecond<<min(d.tries, 7), 10*time.Second)
		d.tries++
		d.alone = false
		time.AfterFunc(pause, func() { w.produce(d) })
	case !d.alone:
		d.alone = true
		go w.produce(d)
	default:
		w.fallBack(d, err)
	}
}

// fallBack replaces a record the broker refused for good, alone: a
// decision by a dead letter of its event, a dead letter by one stripped of
// the source's key, value and headers. When even that is refused the
// source is given up — logged, counted and committed — rather than block
// its partition for ever.
func (w *worker) fallBack(d *delivery, err error) {
	c := w.c
	dlq := c.opts.DeadLetterTopic
	switch {
	case d.fe == nil:
		d.fe = &engine.FieldError{Code: ReasonDecisionUnproducible,
			Message: "the event was decided but its decision was refused: " + err.Error()}
		if errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) {
			d.fe.Code = ReasonDecisionTooLarge
		}
		d.out = deadLetter(dlq, d.src, d.fe)
	case !d.stripped:
		d.out, d.stripped = strippedDeadLetter(dlq, d.src, d.fe, err), true
	default:
		c.met.unproducible.Inc()
		c.log.Error("record skipped: its decision and dead letters were refused", "partition",
			w.part, "offset", d.src.Offset, "reason", d.fe.Code, "err", err)
		w.finish(d)
		return
	}
	if c.prodLog.allow() {
		c.log.Error("record refused by the broker; sending a dead letter", "topic", d.out.Topic,
			"partition", w.part, "offset", d.src.Offset, "reason", d.fe.Code, "err", err)
	}
	d.alone, d.tries = false, 0
	go w.produce(d)
}

// refusedForGood reports whether the broker refused a record in a way no
// retry changes: too large, invalid, corrupt, or any other error Kafka
// marks as not retriable. Errors that concern every record alike
// (authorization, authentication, the producer's own state) are not: a
// dead letter for every event would be worse than waiting for an operator.
// Errors that are not the broker's (the network, timeouts) are retried.
func refusedForGood(err error) bool {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke {
	case kerr.CorruptMessage:
		// Retriable by Kafka's table, but franz-go does not retry it: the
		// record is at fault (a null key on a compacted topic, say).
		return true
	case kerr.TopicAuthorizationFailed, kerr.ClusterAuthorizationFailed,
		kerr.TransactionalIDAuthorizationFailed, kerr.SaslAuthenticationFailed,
		kerr.UnsupportedSaslMechanism, kerr.IllegalSaslState, kerr.UnsupportedVersion,
		kerr.OutOfOrderSequenceNumber, kerr.DuplicateSequenceNumber, kerr.InvalidProducerEpoch,
		kerr.UnknownProducerID, kerr.InvalidProducerIDMapping, kerr.ProducerFenced:
		return false
	}
	return !ke.Retriable
}
