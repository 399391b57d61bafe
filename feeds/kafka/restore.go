package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/rules"
)

// clockSlack is how far the producers' clocks, which stamp event records,
// may run ahead of ours, which stamps decisions, without an event being
// decided twice after a restart.
const clockSlack = time.Minute

// Restore rebuilds the engine's dedupe memory for the events that are
// about to be redelivered, so that after a crash they are answered with
// the decision already published instead of being decided — and counted —
// again.
//
// The events to be redelivered are those after the group's committed
// offsets. Their decisions, if any were produced, are younger than the
// oldest of those events' record timestamps, so Restore reads the
// decisions topic from that time (less a minute of clock slack, and at most
// RestoreWindow back) to its current end, and remembers every decision it
// finds. Nothing is read when no event is waiting. It returns how many
// decisions it remembered. Run calls it before joining the group.
//
// TODO: the memory comes back only as far as the decisions topic's
// retention reaches; a shared dedupe store would not depend on it.
func (c *Consumer) Restore(ctx context.Context) (int, error) {
	if c.opts.RestoreWindow < 0 {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.ShutdownTimeout)
	defer cancel()
	adm := kadm.NewClient(c.prod)
	pending, err := c.pendingOffsets(ctx, adm)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	oldest, err := c.firstTimestamp(ctx, c.opts.EventsTopic, pending)
	if err != nil {
		return 0, err
	}
	return c.readDecisions(ctx, adm, restoreFrom(oldest, time.Now(), c.opts.RestoreWindow))
}

// restoreFrom is the time decisions are read from, given the oldest
// pending event's timestamp.
func restoreFrom(oldest, now time.Time, window time.Duration) time.Time {
	floor := now.Add(-window)
	from := oldest.Add(-clockSlack)
	if oldest.After(now) || from.Before(floor) {
		// Too old, or stamped by a producer clock ahead of ours: read the
		// whole window.
		return floor
	}
	return from
}

// pendingOffsets returns, for each events partition with records the group
// has not committed, the first such offset.
func (c *Consumer) pendingOffsets(ctx context.Context, adm *kadm.Client) (map[int32]int64, error) {
	topic := c.opts.EventsTopic
	committed, err := adm.FetchOffsets(ctx, c.opts.Group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		committed, err = nil, nil // a new group: everything is pending
	}
	if err != nil {
		return nil, fmt.Errorf("committed offsets of group %s: %w", c.opts.Group, err)
	}
	starts, ends, err := bounds(ctx, adm, topic)
	if err != nil {
		return nil, err
	}
	pending := map[int32]int64{}
	for p, end := range ends[topic] {
		at := starts[topic][p].Offset
		if o, ok := committed.Lookup(topic, p); ok && o.Err == nil && o.At > at {
			at = o.At
		}
		if at < end.Offset {
			pending[p] = at
		}
	}
	return pending, nil
}

func bounds(ctx context.Context, adm *kadm.Client, topic string) (starts, ends kadm.ListedOffsets, err error) {
	if starts, err = adm.ListStartOffsets(ctx, topic); err == nil {
		err = starts.Error()
	}
	if err == nil {
		if ends, err = adm.ListEndOffsets(ctx, topic); err == nil {
			err = ends.Error()
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("offsets of %s: %w", topic, err)
	}
	return starts, ends, nil
}

// firstTimestamp reads the record at each partition's offset and returns
// the oldest of their timestamps.
func (c *Consumer) firstTimestamp(ctx context.Context, topic string, at map[int32]int64) (time.Time, error) {
	offsets := map[int32]kgo.Offset{}
	for p, o := range at {
		offsets[p] = kgo.NewOffset().At(o)
	}
	var oldest time.Time
	seen := map[int32]bool{}
	err := c.scan(ctx, topic, offsets, func(r *kgo.Record) bool {
		if oldest.IsZero() || r.Timestamp.Before(oldest) {
			oldest = r.Timestamp
		}
		seen[r.Partition] = true
		return false // one record of each partition is enough
	}, func() bool { return len(seen) == len(at) })
	return oldest, err
}

// readDecisions remembers every decision produced since from.
func (c *Consumer) readDecisions(ctx context.Context, adm *kadm.Client, from time.Time) (int, error) {
	topic := c.opts.DecisionsTopic
	firsts, err := adm.ListOffsetsAfterMilli(ctx, from.UnixMilli(), topic)
	if err == nil {
		err = firsts.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("offsets of %s after %s: %w", topic, from.Format(time.RFC3339), err)
	}
	_, ends, err := bounds(ctx, adm, topic)
	if err != nil {
		return 0, err
	}
	offsets := map[int32]kgo.Offset{}
	left := map[int32]int64{}
	for p, end := range ends[topic] {
		if f, ok := firsts.Lookup(topic, p); ok && f.Offset >= 0 && f.Offset < end.Offset {
			offsets[p] = kgo.NewOffset().At(f.Offset)
			left[p] = end.Offset
		}
	}
	if len(offsets) == 0 {
		return 0, nil
	}
	n := 0
	err = c.scan(ctx, topic, offsets, func(r *kgo.Record) bool {
		if c.remember(r) {
			n++
		}
		if r.Offset+1 >= left[r.Partition] {
			delete(left, r.Partition)
			return false
		}
		return true
	}, func() bool { return len(left) == 0 })
	c.met.restored.Add(float64(n))
	return n, err
}

// scan reads topic from offsets, calling each for every record until it
// returns false for that record's partition, and stops when done is true.
func (c *Consumer) scan(ctx context.Context, topic string, offsets map[int32]kgo.Offset,
	each func(*kgo.Record) bool, done func() bool) error {
	opts := append(c.opts.clientOpts(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	cl, err := kgo.NewClient(append(opts, c.opts.ClientOpts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	stopped := map[int32]bool{}
	for !done() {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s: %w", topic, err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if stopped[r.Partition] {
				return
			}
			if !each(r) {
				stopped[r.Partition] = true
				cl.PauseFetchPartitions(map[string][]int32{topic: {r.Partition}})
			}
		})
	}
	return nil
}

// storedDecision is the part of a decision record the dedupe memory keeps.
type storedDecision struct {
	ID           string          `json:"decision_id"`
	EventID      string          `json:"event_id"`
	Action       rules.Action    `json:"action"`
	Score        int             `json:"score"`
	Reasons      []engine.Reason `json:"reasons"`
	Shadow       []engine.Reason `json:"shadow"`
	Missing      []string        `json:"missing"`
	RulesVersion string          `json:"rules_version"`
	Time         time.Time       `json:"time"`
	Signals      struct {
		User struct {
			Key string `json:"key"`
		} `json:"user"`
	} `json:"signals"`
}

// remember puts a decision record into the dedupe memory; a record that is
// not a decision is passed over.
func (c *Consumer) remember(r *kgo.Record) bool {
	var s storedDecision
	if json.Unmarshal(r.Value, &s) != nil || s.EventID == "" || s.ID == "" {
		return false
	}
	d := &engine.Decision{ID: s.ID, EventID: s.EventID, Action: s.Action, Score: s.Score,
		Reasons: s.Reasons, Shadow: s.Shadow, Missing: s.Missing, RulesVersion: s.RulesVersion,
		Time: s.Time}
	return c.eng.Remember(header(r, HeaderTenant), s.Signals.User.Key, d)
}
