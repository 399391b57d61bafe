package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/verdictrisk/verdict/engine"
)

// Publish produces a decision made over HTTP to the decisions topic, so
// that the topic holds every decision. It never blocks: the HTTP caller
// already has its answer, so when the producer's buffer is full or the
// produce fails the decision is dropped, counted in
// verdict_kafka_http_decisions_dropped_total and logged (rate-limited).
// Its signature fits api.Options.OnDecision.
//
// TODO: an outbox on disk would keep HTTP decisions through a broker outage.
func (c *Consumer) Publish(ev *engine.Event, d *engine.Decision) {
	r := decisionRecord(c.opts.DecisionsTopic, ev, d, OriginHTTP)
	c.prod.TryProduce(context.Background(), r, func(_ *kgo.Record, err error) {
		if err == nil {
			c.met.fromHTTP.Inc()
			return
		}
		c.met.dropped.Inc()
		if c.prodLog.allow() {
			c.log.Error("HTTP decision not published", "topic", c.opts.DecisionsTopic, "err", err)
		}
	})
}
