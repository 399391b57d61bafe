package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Position is where a Kafka range starts or ends in every partition: an
// offset, or a time (the first record at or after it). The zero Position is
// the partition's start (for From) or its end when the replay starts (for
// To).
type Position struct {
	Offset int64 // used when Time is zero and Set is true
	Time   time.Time
	Set    bool
}

// ParsePosition reads an offset ("1500") or an RFC 3339 time
// ("2026-11-02T09:00:00Z"); "" is the zero Position.
func ParsePosition(s string) (Position, error) {
	if s == "" {
		return Position{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return Position{Offset: n, Set: true}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return Position{Time: t, Set: true}, nil
	}
	return Position{}, fmt.Errorf("%q is neither an offset (1500) nor an RFC 3339 time "+
		"(2026-11-02T09:00:00Z)", s)
}

// KafkaOptions say which records to replay.
type KafkaOptions struct {
	Brokers []string
	Topic   string
	// From is inclusive, To exclusive, in every partition.
	From, To Position
	// Opts are more client options (TLS, SASL), for the caller to add.
	Opts []kgo.Opt
}

// Kafka reads a topic's records between two positions, partition by
// partition in offset order, as the fetches arrive.
//
// TODO: merge partitions by record time; today partitions interleave as
// fetched, so events of users on different partitions may be replayed out
// of time order by up to one fetch.
// TODO: a compacted partition whose last offsets before To were removed
// never reaches its end; such a range needs To at or before the high
// watermark of a live record.
type Kafka struct {
	ctx   context.Context
	cl    *kgo.Client
	topic string
	// end[p] is the first offset not to replay; partitions whose records
	// have all been read are removed.
	end     map[int32]int64
	startOf map[int32]int64 // each partition's log start offset
	total   int64
	done    atomic.Int64
	buf     []*kgo.Record
}

// NewKafka resolves the range's offsets in every partition and starts
// fetching. Close it when done.
func NewKafka(ctx context.Context, o KafkaOptions) (*Kafka, error) {
	if len(o.Brokers) == 0 || o.Topic == "" {
		return nil, errors.New("kafka: brokers and a topic are required")
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(o.Brokers...)}, o.Opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	k := &Kafka{ctx: ctx, cl: cl, topic: o.Topic, end: map[int32]int64{}}
	from, err := k.resolve(ctx, o)
	if err != nil {
		cl.Close()
		return nil, err
	}
	parts := map[int32]kgo.Offset{}
	for p, start := range from {
		if lo, ok := k.startOf[p]; ok {
			start = max(start, lo)
		}
		if start < k.end[p] {
			parts[p] = kgo.NewOffset().At(start)
			k.total += k.end[p] - start
		} else {
			delete(k.end, p)
		}
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{o.Topic: parts})
	return k, nil
}

// resolve finds each partition's first offset to replay and sets k.end.
func (k *Kafka) resolve(ctx context.Context, o KafkaOptions) (map[int32]int64, error) {
	adm := kadm.NewClient(k.cl)
	starts, err := adm.ListStartOffsets(ctx, o.Topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("kafka: topic %q does not exist", o.Topic)
		}
		return nil, fmt.Errorf("kafka: list start offsets of %s: %w", o.Topic, err)
	}
	from, err := k.positions(ctx, adm, o.From, starts)
	if err != nil {
		return nil, err
	}
	k.startOf = map[int32]int64{}
	for p, lo := range starts[o.Topic] {
		k.startOf[p] = lo.Offset
	}
	ends, err := adm.ListEndOffsets(ctx, o.Topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: list end offsets of %s: %w", o.Topic, err)
	}
	to, err := k.positions(ctx, adm, o.To, ends)
	if err != nil {
		return nil, err
	}
	for p, hw := range ends[o.Topic] {
		k.end[p] = min(to[p], hw.Offset)
	}
	return from, nil
}

// positions returns pos's offset in every partition, unclamped; def gives
// the offsets of the zero Position.
func (k *Kafka) positions(ctx context.Context, adm *kadm.Client, pos Position,
	def kadm.ListedOffsets) (map[int32]int64, error) {
	base := def
	if !pos.Time.IsZero() {
		var err error
		base, err = adm.ListOffsetsAfterMilli(ctx, pos.Time.UnixMilli(), k.topic)
		if err == nil {
			err = base.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("kafka: offsets at %s: %w", pos.Time.Format(time.RFC3339), err)
		}
	}
	out := map[int32]int64{}
	for p, lo := range def[k.topic] {
		off := lo.Offset
		if b, ok := base.Lookup(k.topic, p); ok {
			off = b.Offset
		}
		if pos.Set && pos.Time.IsZero() {
			off = pos.Offset
		}
		out[p] = off
	}
	return out, nil
}

// Next implements Source.
func (k *Kafka) Next() (*Record, error) {
	for len(k.buf) == 0 {
		if len(k.end) == 0 {
			return nil, io.EOF
		}
		if err := k.fetch(); err != nil {
			return nil, err
		}
	}
	r := k.buf[0]
	k.buf = k.buf[1:]
	k.done.Add(1)
	return Decode(fmt.Sprintf("partition %d offset %d", r.Partition, r.Offset), r.Value), nil
}

func (k *Kafka) fetch() error {
	fs := k.cl.PollFetches(k.ctx)
	if err := k.ctx.Err(); err != nil {
		return err
	}
	var ferr error
	fs.EachError(func(t string, p int32, err error) {
		if ferr == nil {
			ferr = fmt.Errorf("kafka: fetch %s partition %d: %w", t, p, err)
		}
	})
	if ferr != nil {
		return ferr
	}
	fs.EachRecord(func(r *kgo.Record) {
		end, live := k.end[r.Partition]
		if !live || r.Offset >= end {
			return
		}
		k.buf = append(k.buf, r)
		if r.Offset+1 >= end {
			delete(k.end, r.Partition)
			k.cl.PauseFetchPartitions(map[string][]int32{k.topic: {r.Partition}})
		}
	})
	return nil
}

// Progress implements Source, in records.
func (k *Kafka) Progress() (int64, int64) { return k.done.Load(), k.total }

// Close closes the client.
func (k *Kafka) Close() { k.cl.Close() }
