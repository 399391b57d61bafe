package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// kcat finds the kcat binary, the outside Kafka client of the interop
// test. make test installs it (scripts/test.sh); in CI its absence fails
// the test rather than skipping it.
func kcat(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatal("kcat is not installed; scripts/test.sh installs it from Debian's kcat package")
	}
	t.Skip("kcat is not installed; make test installs it (Debian package kcat)")
	return ""
}

// startKafkaDaemon runs verdictd with the embedded broker on a free port.
func startKafkaDaemon(t *testing.T, data, state string, extra ...string) *daemon {
	t.Helper()
	args := append([]string{"--kafka=embedded", "--kafka-embedded-listen", "127.0.0.1:0",
		"--kafka-partitions", "4"}, extra...)
	d := startDaemon(t, data, state, args...)
	if d.kafka == "" {
		t.Fatalf("verdictd logged no embedded broker address:\n%s", d.log)
	}
	return d
}

// kcatMessage is one record as `kcat -C -J` prints it.
type kcatMessage struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Key       *string  `json:"key"`
	Payload   *string  `json:"payload"`
	Headers   []string `json:"headers"` // name, value, name, value...
}

func (m kcatMessage) header(k string) string {
	for i := 0; i+1 < len(m.Headers); i += 2 {
		if m.Headers[i] == k {
			return m.Headers[i+1]
		}
	}
	return ""
}

// kcatRead reads n records of topic from the start with kcat.
func kcatRead(t *testing.T, bin, broker, topic string, n int) []kcatMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-b", broker, "-t", topic, "-C", "-o", "beginning",
		"-c", strconv.Itoa(n), "-J", "-q")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat -C %s: %v\n%s", topic, err, stderr.String())
	}
	var msgs []kcatMessage
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m kcatMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("kcat output %q: %v", sc.Text(), err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// TestKafkaKcat is the README's walk-through with kcat as the outside
// client: events produced with kcat into the embedded broker get their
// decisions, read back with kcat, and a bad line gets a dead letter.
func TestKafkaKcat(t *testing.T) {
	bin := kcat(t)
	data := t.TempDir()
	world, err := geotest.Fixture(data)
	if err != nil {
		t.Fatal(err)
	}
	d := startKafkaDaemon(t, data, t.TempDir())
	london := world.MustPlace("London").Addr4().String()
	lines := []string{
		fmt.Sprintf(`{"id":"k-1","type":"login","outcome":"succeeded","ip":%q,`+
			`"user":{"id":"u-1842"},"user_agent":%q,"device":{"id":"c0ffee-42"}}`, london, ua),
		`{"id":"k-2","type":"login","ip":"1.2.3.4","user_agnet":"typo"}`,
		fmt.Sprintf(`{"id":"k-3","type":"signup","ip":%q,"user":{"email":"new@example.com"}}`, london),
	}
	produce := exec.Command(bin, "-b", d.kafka, "-t", "verdict.events", "-P")
	produce.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}

	got := map[string]kcatMessage{}
	for _, m := range kcatRead(t, bin, d.kafka, "verdict.decisions", 2) {
		got[m.header("verdict.event_id")] = m
	}
	for id, key := range map[string]string{"k-1": "u-1842", "k-3": "new@example.com"} {
		m, ok := got[id]
		if !ok || m.Payload == nil || m.Key == nil {
			t.Errorf("no decision for %s: %+v", id, got)
			continue
		}
		var dec struct {
			EventID string `json:"event_id"`
			Action  string `json:"action"`
			Rules   string `json:"rules_version"`
		}
		if err := json.Unmarshal([]byte(*m.Payload), &dec); err != nil {
			t.Fatalf("decision of %s: %v", id, err)
		}
		if dec.EventID != id || dec.Action == "" || dec.Rules == "" || *m.Key != key {
			t.Errorf("decision of %s: key %q, %+v", id, *m.Key, dec)
		}
	}
	dead := kcatRead(t, bin, d.kafka, "verdict.events.dlq", 1)
	if len(dead) != 1 || dead[0].Payload == nil || *dead[0].Payload != lines[1] ||
		dead[0].header("verdict.error.code") != "unknown_field" ||
		dead[0].header("verdict.error.field") != "user_agnet" {
		t.Errorf("dead letter: %+v", dead)
	}
}

// TestKafkaKillRestart kills verdictd (SIGKILL, embedded broker and all)
// in the middle of a stream and starts it again on the same state: every
// event gets a decision, and the events it reads again are answered with
// the decisions already published, not decided a second time.
func TestKafkaKillRestart(t *testing.T) {
	data, state := t.TempDir(), t.TempDir()
	if _, err := geotest.Fixture(data); err != nil {
		t.Fatal(err)
	}
	// Commits rarely, so that the kill leaves decided events uncommitted.
	flags := []string{"--kafka-commit-interval", "5s", "--kafka-embedded-data",
		filepath.Join(state, "broker")}
	d := startKafkaDaemon(t, data, state, flags...)
	const n = 400
	cl := kafkaClient(t, d.kafka)
	var sent int
	send := func(upTo int) {
		for ; sent < upTo; sent++ {
			v := fmt.Sprintf(`{"id":"kr-%d","type":"login","outcome":"failed","ip":"81.2.69.142",`+
				`"user":{"id":"u%d"}}`, sent, sent)
			cl.Produce(context.Background(), &kgo.Record{Topic: "verdict.events",
				Key: []byte("81.2.69.142"), Value: []byte(v)}, nil)
		}
		if err := cl.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	send(n / 2)
	waitDecisions(t, d.kafka, n/4)
	d.cmd.Process.Kill()
	d.cmd.Wait()

	d = startKafkaDaemon(t, data, state, flags...)
	cl = kafkaClient(t, d.kafka)
	send(n)
	byID := waitDecisions(t, d.kafka, n)
	repeats := 0
	for i := range n {
		id := fmt.Sprint("kr-", i)
		first := 0
		for _, r := range byID[id] {
			if r {
				repeats++
			} else {
				first++
			}
		}
		if first != 1 {
			t.Errorf("%s: decided %d times (and repeated %d); want once", id, first, len(byID[id])-first)
		}
	}
	restored := metric(t, d.url, "verdict_kafka_restored_decisions_total")
	if repeats == 0 || restored == 0 {
		t.Errorf("%d repeated decisions, %v restored: the kill left nothing to read again", repeats,
			restored)
	}
}

// TestKafkaErasureSurvivesRestart: a user erased over HTTP stays erased
// across a crash. The restarted verdictd reads the uncommitted event again
// and rebuilds its dedupe memory from the decisions topic, which still
// holds the user's decision; the event is decided anew, not answered with
// that decision.
func TestKafkaErasureSurvivesRestart(t *testing.T) {
	data, state := t.TempDir(), t.TempDir()
	if _, err := geotest.Fixture(data); err != nil {
		t.Fatal(err)
	}
	// No commit before the kill: the event is read again after it.
	flags := []string{"--kafka-commit-interval", "1h", "--kafka-embedded-data",
		filepath.Join(state, "broker")}
	d := startKafkaDaemon(t, data, state, flags...)
	v := `{"id":"er-1","type":"login","outcome":"failed","ip":"81.2.69.142","user":{"id":"gone"}}`
	err := kafkaClient(t, d.kafka).ProduceSync(context.Background(),
		&kgo.Record{Topic: "verdict.events", Value: []byte(v)}).FirstErr()
	if err != nil {
		t.Fatal(err)
	}
	waitDecisions(t, d.kafka, 1)
	if code, out := d.call(t, "DELETE", "/v1/users/gone", "", nil); code != 200 ||
		out["cached_decisions"] != 1.0 {
		t.Fatalf("erase: %d %v", code, out)
	}
	d.kill(t)

	d = startKafkaDaemon(t, data, state, flags...)
	byID := readDecisions(t, d.kafka, func(byID map[string][]bool) bool {
		return len(byID["er-1"]) == 2
	})
	if again := byID["er-1"][1]; again {
		t.Errorf("the erased user's event after a restart: repeated %v, want a new decision", again)
	}
}

func kafkaClient(t *testing.T, broker string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// waitDecisions reads the decisions topic until n events have one, and
// returns, by event id, whether each of its decisions was a repeat.
func waitDecisions(t *testing.T, broker string, n int) map[string][]bool {
	t.Helper()
	return readDecisions(t, broker, func(byID map[string][]bool) bool { return len(byID) >= n })
}

// readDecisions reads the decisions topic until enough says so, and
// returns, by event id, whether each of its decisions was a repeat.
func readDecisions(t *testing.T, broker string,
	enough func(map[string][]bool) bool) map[string][]bool {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics("verdict.decisions"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	byID := map[string][]bool{}
	for !enough(byID) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("decisions after a minute: %v, not enough", byID)
		}
		fs.EachRecord(func(r *kgo.Record) {
			var dec struct {
				EventID  string `json:"event_id"`
				Repeated bool   `json:"repeated"`
			}
			if json.Unmarshal(r.Value, &dec) == nil {
				byID[dec.EventID] = append(byID[dec.EventID], dec.Repeated)
			}
		})
	}
	return byID
}

// metric reads one unlabelled metric from verdictd's /metrics.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
