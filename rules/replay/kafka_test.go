package replay_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/verdictrisk/verdict/rules/replay"
)

// kafkaTopic starts an in-process Kafka (on a random port) with topic
// "events" of three partitions holding perPartition events each, one a
// minute from base on, and returns its address.
func kafkaTopic(t *testing.T, base time.Time, perPartition int) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for p := range int32(3) {
		for i := range perPartition {
			at := base.Add(time.Duration(i) * time.Minute)
			v := fmt.Sprintf(`{"id":"p%d-%d","type":"login","ip":"10.0.0.%d","user":{"id":"u%d"},"time":%q}`,
				p, i, p+1, i, at.Format(time.RFC3339))
			if i == 3 && p == 0 {
				v = `not an event`
			}
			r := &kgo.Record{Topic: "events", Partition: p, Value: []byte(v), Timestamp: at}
			if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return addr
}

func drain(t *testing.T, src replay.Source) []*replay.Record {
	t.Helper()
	var out []*replay.Record
	for {
		r, err := src.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

func TestKafkaRange(t *testing.T) {
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	addr := kafkaTopic(t, base, 10)
	at := func(min int) replay.Position {
		return replay.Position{Time: base.Add(time.Duration(min) * time.Minute), Set: true}
	}
	tests := []struct {
		name     string
		from, to replay.Position
		want     int
	}{
		{"everything", replay.Position{}, replay.Position{}, 30},
		{"from an offset", replay.Position{Offset: 4, Set: true}, replay.Position{}, 18},
		{"between offsets", replay.Position{Offset: 2, Set: true}, replay.Position{Offset: 5, Set: true}, 9},
		{"between times", at(3), at(6), 9},
		{"after the end", replay.Position{Offset: 50, Set: true}, replay.Position{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			k, err := replay.NewKafka(ctx, replay.KafkaOptions{Brokers: []string{addr}, Topic: "events",
				From: tc.from, To: tc.to})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			recs := drain(t, k)
			if len(recs) != tc.want {
				t.Fatalf("got %d records, want %d", len(recs), tc.want)
			}
			if done, total := k.Progress(); done != int64(tc.want) || total != int64(tc.want) {
				t.Errorf("progress %d of %d", done, total)
			}
			for _, r := range recs {
				if !strings.HasPrefix(r.Pos, "partition ") {
					t.Errorf("pos %q", r.Pos)
				}
			}
		})
	}
	// The whole topic through both rule sets, the bad record counted.
	ctx := context.Background()
	k, err := replay.NewKafka(ctx, replay.KafkaOptions{Brokers: []string{addr}, Topic: "events"})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	rep, err := replay.Run(ctx, k, replay.Options{Baseline: mustDefault(t), Candidate: mustDefault(t)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 30 || rep.Invalid != 1 || !strings.Contains(rep.InvalidShown[0], "partition 0 offset 3") {
		t.Errorf("records %d invalid %d %v", rep.Records, rep.Invalid, rep.InvalidShown)
	}
	if _, err := replay.NewKafka(ctx, replay.KafkaOptions{Brokers: []string{addr}, Topic: "nope"}); err == nil ||
		!strings.Contains(err.Error(), `topic "nope" does not exist`) {
		t.Errorf("unknown topic: %v", err)
	}
}

func TestParsePosition(t *testing.T) {
	for in, want := range map[string]replay.Position{
		"":                     {},
		"1500":                 {Offset: 1500, Set: true},
		"2026-11-02T09:00:00Z": {Time: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), Set: true},
	} {
		got, err := replay.ParsePosition(in)
		if err != nil || got != want {
			t.Errorf("ParsePosition(%q) = %+v, %v", in, got, err)
		}
	}
	if _, err := replay.ParsePosition("yesterday"); err == nil {
		t.Error("yesterday parsed")
	}
}
