package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/verdictrisk/verdict/engine"
)

// Consumer reads events from Kafka in a consumer group, decides each with
// the engine, and produces the decisions (or dead letters). It also
// publishes the decisions made over HTTP (Publish). Create it with New,
// run it with Run, and Close it when Run has returned.
type Consumer struct {
	eng  *engine.Engine
	opts Options
	log  *slog.Logger
	met  *metrics

	// group consumes the events topic; prod produces decisions and dead
	// letters, for both the consumer and the HTTP API. Two clients, so
	// that producing never waits on a rebalance and HTTP decisions still
	// go out while the group is stopping. alone produces one record at a
	// time, in a batch of its own, so that the broker judges it alone: a
	// record refused in a batch is tried again there (see worker.failed).
	group, prod, alone *kgo.Client

	mu      sync.Mutex
	workers map[int32]*worker

	errLog  rateLimited
	prodLog rateLimited

	// beforeDecide, if set, runs before every record is decided (tests).
	beforeDecide func(*kgo.Record)
}

// New connects to the brokers (lazily: franz-go dials on first use) and
// returns a consumer that has not joined its group yet.
func New(eng *engine.Engine, opts Options) (*Consumer, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	c := &Consumer{eng: eng, opts: opts, log: opts.Logger.With("component", "kafka"),
		met: newMetrics(opts.Registerer), workers: map[int32]*worker{},
		errLog: rateLimited{every: 10 * time.Second}, prodLog: rateLimited{every: 10 * time.Second}}
	prodOpts := append(opts.clientOpts(),
		kgo.ProducerLinger(time.Millisecond),
		// Room for every partition's in-flight decisions and the HTTP
		// API's: the consumer is bounded by MaxInFlight per partition,
		// HTTP decisions are dropped (and counted) rather than wait.
		kgo.MaxBufferedRecords(64*1024),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	prod, err := kgo.NewClient(append(prodOpts, opts.ClientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	aloneOpts := append(opts.clientOpts(), kgo.ProducerLinger(0), kgo.MaxBufferedRecords(1),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	alone, err := kgo.NewClient(append(aloneOpts, opts.ClientOpts...)...)
	if err != nil {
		prod.Close()
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	c.prod, c.alone = prod, alone
	return c, nil
}

// groupClient makes the group consumer: commits of marked offsets only
// (a record is marked once its decision is acknowledged), rebalances held
// while a poll's records are handed to the workers, and the revoke hooks
// that finish and commit a partition before it moves.
func (c *Consumer) groupClient() (*kgo.Client, error) {
	o := c.opts
	opts := append(o.clientOpts(),
		kgo.ConsumerGroup(o.Group),
		kgo.ConsumeTopics(o.EventsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(o.CommitInterval),
		kgo.AutoCommitCallback(c.committed),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(o.SessionTimeout),
		// Kafka's rule of thumb: three heartbeats per session timeout.
		kgo.HeartbeatInterval(min(3*time.Second, o.SessionTimeout/3)),
		kgo.RebalanceTimeout(o.RebalanceTimeout),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
		kgo.FetchMaxWait(250*time.Millisecond),
	)
	return kgo.NewClient(append(opts, o.ClientOpts...)...)
}

// Run restores the dedupe memory, joins the group and processes events
// until ctx is cancelled; then it stops gracefully: the records being
// decided are finished, their decisions acknowledged, the offsets
// committed, and the group left. It returns nil after a graceful stop.
func (c *Consumer) Run(ctx context.Context) error {
	if n, err := c.Restore(ctx); err != nil {
		// Without the memory a redelivered event is decided and counted
		// again; that is worth a warning, not a refusal to start.
		c.log.Warn("dedupe memory not restored from the decisions topic", "err", err)
	} else if n > 0 {
		c.log.Info("dedupe memory restored from the decisions topic", "decisions", n)
	}
	g, err := c.groupClient()
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	c.group = g
	c.log.Info("consuming", "topic", c.opts.EventsTopic, "group", c.opts.Group,
		"decisions", c.opts.DecisionsTopic, "dead_letters", c.opts.DeadLetterTopic)
	c.poll(ctx)
	c.stop()
	return nil
}

// poll hands fetched records to the partitions' workers until ctx ends.
func (c *Consumer) poll(ctx context.Context) {
	for {
		fetches := c.group.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			c.group.AllowRebalance()
			return
		}
		fetches.EachError(func(topic string, part int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			if c.errLog.allow() {
				c.log.Warn("fetch failed; retrying", "topic", topic, "partition", part, "err", err)
			}
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				c.worker(p.Partition).push(p.Records, p.HighWatermark)
			}
		})
		c.group.AllowRebalance()
	}
}

// worker returns the partition's worker, starting it if needed.
func (c *Consumer) worker(part int32) *worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.workers[part]
	if w == nil {
		w = newWorker(c, c.opts.EventsTopic, part)
		c.workers[part] = w
		go w.run()
	}
	return w
}

// stop ends every worker, commits what they finished, and leaves the group.
func (c *Consumer) stop() {
	c.stopWorkers(nil)
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.ShutdownTimeout)
	defer cancel()
	if err := c.group.CommitMarkedOffsets(ctx); err != nil {
		c.met.commitErrs.Inc()
		c.log.Error("final offset commit failed; the last events will be decided again",
			"err", err)
	}
	c.group.CloseAllowingRebalance()
	c.log.Info("consumer stopped")
}

// revoked finishes the partitions moving to another member and commits
// them, so the new owner starts after the last acknowledged decision.
func (c *Consumer) revoked(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	parts := lost[c.opts.EventsTopic]
	if len(parts) == 0 || c.stopWorkers(parts) == 0 {
		return // nothing was decided since the last commit
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.ShutdownTimeout)
	defer cancel()
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		c.met.commitErrs.Inc()
		c.log.Warn("offset commit on revoke failed; the new owner decides those events again",
			"err", err)
	}
}

// lost stops the partitions taken away without a chance to commit (the
// member was evicted); their uncommitted events are decided again by the
// new owner and answered from its dedupe memory where it has them.
func (c *Consumer) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	if parts := lost[c.opts.EventsTopic]; len(parts) > 0 {
		c.log.Warn("partitions lost", "partitions", parts)
		c.stopWorkers(parts)
	}
}

// stopWorkers stops the workers of parts (all when nil) and waits, at most
// ShutdownTimeout, for their in-flight decisions to be acknowledged. It
// returns how many it stopped.
func (c *Consumer) stopWorkers(parts []int32) int {
	c.mu.Lock()
	var ws []*worker
	for p, w := range c.workers {
		if parts == nil || slices.Contains(parts, p) {
			ws = append(ws, w)
			delete(c.workers, p)
		}
	}
	c.mu.Unlock()
	deadline := time.After(c.opts.ShutdownTimeout)
	for _, w := range ws {
		close(w.quit)
	}
	for _, w := range ws {
		select {
		case <-w.done:
		case <-deadline:
			c.log.Error("in-flight decisions not acknowledged in time; their events will be decided again",
				"partition", w.part, "timeout", c.opts.ShutdownTimeout)
		}
		c.group.ResumeFetchPartitions(map[string][]int32{w.topic: {w.part}})
		c.met.dropLag(w.topic, w.part)
	}
	return len(ws)
}

func (c *Consumer) committed(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse,
	err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		c.met.commitErrs.Inc()
		if c.errLog.allow() {
			c.log.Warn("offset commit failed; retried with the next one", "err", err)
		}
	}
}

// Close flushes the decisions still buffered (HTTP ones included) and
// closes the producer. Call it after Run has returned.
func (c *Consumer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.ShutdownTimeout)
	defer cancel()
	if err := c.prod.Flush(ctx); err != nil {
		c.log.Error("decisions not flushed before close", "err", err)
	}
	c.prod.Close()
	c.alone.Close()
}

// rateLimited lets one log line through per interval.
type rateLimited struct {
	every time.Duration
	mu    sync.Mutex
	last  time.Time
}

func (r *rateLimited) allow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.last) < r.every {
		return false
	}
	r.last = now
	return true
}
