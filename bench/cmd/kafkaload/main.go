// Command kafkaload is the Kafka load generator of `make bench`: it
// produces events to a running verdictd's events topic, reads the
// decisions topic, and reports the events decided per second end to end
// (produced, decided, decision acknowledged and read back) and the latency
// from each event's send time to its decision being read.
//
//	kafkaload -brokers 127.0.0.1:9092 -in bodies.jsonl -count 100000
//	kafkaload -brokers 127.0.0.1:9092 -in bodies.jsonl -rate 20000 -duration 10s
//
// The events come from -in, request bodies without id as `load -dump`
// writes them; each record gets a fresh id, so that the engine decides
// every one. With -rate 0 it sends -count events as fast as the producer
// takes them: the throughput. With -rate N it runs an open loop at N
// events a second for -duration and measures each latency from the event's
// scheduled time, so that a consumer falling behind shows its queueing
// delay. It exits non-zero when a decision is missing after -grace.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/verdictrisk/verdict/bench/internal/cli"
	"github.com/verdictrisk/verdict/feeds/kafka"
)

func main() { cli.Main("kafkaload", run) }

type config struct {
	brokers           string
	events, decisions string
	in                string
	rate              float64
	count             int
	duration, grace   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("kafkaload", flag.ContinueOnError)
	fs.StringVar(&c.brokers, "brokers", kafka.DefaultEmbeddedAddr, "seed brokers, comma-separated")
	fs.StringVar(&c.events, "events", kafka.DefaultEventsTopic, "events topic")
	fs.StringVar(&c.decisions, "decisions", kafka.DefaultDecisionsTopic, "decisions topic")
	fs.StringVar(&c.in, "in", "", "request bodies, one JSON event without id a line (load -dump)")
	fs.Float64Var(&c.rate, "rate", 0, "events per second, open loop; 0 sends -count as fast as possible")
	fs.IntVar(&c.count, "count", 100_000, "events to send at full speed (-rate 0)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to send at -rate")
	fs.DurationVar(&c.grace, "grace", 30*time.Second, "how long to wait for the last decisions")
	if err := cli.Parse(fs, args, stderr); err != nil {
		return c, err
	}
	switch {
	case c.in == "":
		return c, errors.New("-in is required (write it with load -dump)")
	case c.rate < 0 || (c.rate == 0 && c.count < 1) || c.duration <= 0:
		return c, errors.New("want -rate ≥ 0, -count ≥ 1 and a positive -duration")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	bodies, err := readBodies(c.in)
	if err != nil {
		return err
	}
	total := c.count
	if c.rate > 0 {
		total = int(c.rate * c.duration.Seconds())
	}
	r := newRun(total)
	reader, err := r.startReading(ctx, c)
	if err != nil {
		return err
	}
	defer reader.Close()
	if err := r.send(ctx, c, bodies); err != nil {
		return err
	}
	r.wait(ctx, c.grace)
	return r.report(stdout, c, len(bodies))
}

// readBodies reads the event templates: JSON objects without id.
func readBodies(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 2 && line[0] == '{' {
			out = append(out, bytes.Clone(line))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no event", path)
	}
	return out, nil
}

// loadRun is one run: when each event was due and when its decision came.
type loadRun struct {
	prefix string // event ids are prefix + sequence number
	start  time.Time
	due    []time.Time

	mu      sync.Mutex
	lat     []time.Duration
	seen    []bool
	decided int
	last    time.Time
	done    chan struct{}
}

func newRun(total int) *loadRun {
	return &loadRun{prefix: "kl-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-",
		due: make([]time.Time, total), seen: make([]bool, total), done: make(chan struct{})}
}

// startReading consumes the decisions topic from its current end.
func (r *loadRun) startReading(ctx context.Context, c config) (*kgo.Client, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.brokers, ",")...),
		kgo.ConsumeTopics(c.decisions), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		return nil, err
	}
	// Poll once so that the end offsets are fixed before the first send.
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	cl.PollFetches(pctx)
	cancel()
	go func() {
		for {
			fs := cl.PollFetches(ctx)
			if fs.IsClientClosed() || ctx.Err() != nil {
				return
			}
			now := time.Now()
			fs.EachRecord(func(rec *kgo.Record) { r.decision(rec, now) })
		}
	}()
	return cl, nil
}

// decision notes a decision record of this run.
func (r *loadRun) decision(rec *kgo.Record, now time.Time) {
	var id string
	for _, h := range rec.Headers {
		if h.Key == kafka.HeaderEventID {
			id = string(h.Value)
		}
	}
	n, err := strconv.Atoi(strings.TrimPrefix(id, r.prefix))
	if !strings.HasPrefix(id, r.prefix) || err != nil || n < 0 || n >= len(r.due) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[n] {
		return // a redelivery's decision
	}
	r.seen[n] = true
	r.decided++
	r.last = now
	r.lat = append(r.lat, now.Sub(r.due[n]))
	if r.decided == len(r.due) {
		close(r.done)
	}
}

// send produces the events: at c.rate an open loop, else back to back.
func (r *loadRun) send(ctx context.Context, c config, bodies [][]byte) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.brokers, ",")...),
		kgo.DefaultProduceTopic(c.events), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	var failed sync.Once
	var sendErr error
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			failed.Do(func() { sendErr = err })
		}
	}
	interval := time.Duration(0)
	if c.rate > 0 {
		interval = time.Duration(float64(time.Second) / c.rate)
	}
	r.start = time.Now()
	for n := range r.due {
		due := r.start.Add(time.Duration(n) * interval)
		if wait := time.Until(due); wait > time.Millisecond {
			time.Sleep(wait) // a burst per millisecond keeps the rate without a timer per event
		}
		if interval == 0 {
			due = time.Now()
		}
		r.mu.Lock()
		r.due[n] = due
		r.mu.Unlock()
		cl.Produce(ctx, &kgo.Record{Value: r.body(bodies[n%len(bodies)], n)}, promise)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	return sendErr
}

func (r *loadRun) body(tmpl []byte, n int) []byte {
	b := make([]byte, 0, len(tmpl)+len(r.prefix)+16)
	b = append(b, `{"id":"`...)
	b = append(b, r.prefix...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `",`...)
	return append(b, tmpl[1:]...)
}

func (r *loadRun) wait(ctx context.Context, grace time.Duration) {
	select {
	case <-r.done:
	case <-time.After(grace):
	case <-ctx.Done():
	}
}

func (r *loadRun) report(w io.Writer, c config, distinct int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	mode := "full speed"
	if c.rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f/s for %s", c.rate, c.duration)
	}
	elapsed := r.last.Sub(r.start)
	fmt.Fprintf(w, "kafkaload: %s to %s (%d distinct events)\n", mode, c.brokers, distinct)
	fmt.Fprintf(w, "  sent %d, decided %d, missing %d\n", len(r.due), r.decided, len(r.due)-r.decided)
	fmt.Fprintf(w, "  end-to-end events/s %.0f (first send to last decision read, %s)\n",
		float64(r.decided)/max(elapsed.Seconds(), 1e-9), elapsed.Round(time.Millisecond))
	slices.Sort(r.lat)
	fmt.Fprintf(w, "  latency (send time to decision read): p50 %s  p90 %s  p99 %s  max %s\n",
		ms(quantile(r.lat, 0.5)), ms(quantile(r.lat, 0.9)), ms(quantile(r.lat, 0.99)),
		ms(quantile(r.lat, 1)))
	if r.decided < len(r.due) {
		return fmt.Errorf("%d events without a decision after %s", len(r.due)-r.decided, c.grace)
	}
	return nil
}

// quantile is the nearest-rank quantile of sorted durations.
func quantile(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + "ms"
}
