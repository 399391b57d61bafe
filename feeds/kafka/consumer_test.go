package kafka

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestDecidesEveryEvent(t *testing.T) {
	c := newCluster(t)
	eng := newEngine(t, newState(t))
	o := c.options()
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	start(t, eng, o, nil)

	const n = 200
	var rs []*kgo.Record
	for i := range n {
		// Four addresses, users u0..u199: records spread over partitions.
		ip := []string{"81.2.69.142", "81.2.69.143", "203.0.113.9", "198.51.100.7"}[i%4]
		rs = append(rs, &kgo.Record{Topic: testEvents, Key: []byte(ip),
			Value: event("e", i, "u"+itoa(i), ip)})
	}
	produce(t, c.client(t), rs...)
	want := ids("e", 0, n)
	byID := decisions(t, c, want)
	first := firstDecisions(t, byID, want)
	for i, id := range want {
		d := first[id]
		if d.rec == nil {
			continue
		}
		if got := string(d.rec.Key); got != "u"+itoa(i) {
			t.Errorf("%s: decision key %q, want the user id", id, got)
		}
		for _, h := range []string{HeaderEventID, HeaderDecisionID, HeaderAction,
			HeaderRulesVersion, HeaderOrigin, HeaderSourceOffset} {
			if header(d.rec, h) == "" {
				t.Errorf("%s: no %s header", id, h)
			}
		}
		if header(d.rec, HeaderEventID) != id || header(d.rec, HeaderOrigin) != OriginKafka {
			t.Errorf("%s: headers %v", id, d.rec.Headers)
		}
	}
	waitCommitted(t, c, testEvents)
	if got := metricSum(t, reg, "verdict_kafka_decisions_produced_total"); got < n {
		t.Errorf("decisions_produced_total = %v, want at least %d", got, n)
	}
}

// metricSum adds up the values of a metric family's series.
func metricSum(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func TestDeadLetters(t *testing.T) {
	c := newCluster(t)
	eng := newEngine(t, newState(t))
	o := c.options()
	o.MaxEventBytes = 1024
	start(t, eng, o, nil)

	bad := []struct {
		value       string
		code, field string
	}{
		{`{"type":"login","ip":`, "invalid_json", "ip"},
		{`{"type":"login","ip":"81.2.69.142","user_agnet":"x"}`, "unknown_field", "user_agnet"},
		{`{"type":"login"}`, "missing_field", "ip"},
		{`{"type":"logon","ip":"81.2.69.142"}`, "invalid_value", "type"},
		{`{"type":"login","ip":1234}`, "invalid_type", "ip"},
		{``, ReasonEmpty, ""},
		{" \n\t\r\n ", ReasonEmpty, ""},
		{`{"type":"login","ip":"81.2.69.142","user_agent":"` + strings.Repeat("x", 2000) + `"}`,
			ReasonTooLarge, ""},
	}
	var rs []*kgo.Record
	for i, b := range bad {
		hs := []kgo.RecordHeader{{Key: "trace", Value: []byte(itoa(i))},
			// Forged: verdict's own headers, first, in any case.
			{Key: HeaderErrorCode, Value: []byte("spoof")},
			{Key: "Verdict.Source.Topic", Value: []byte("elsewhere")}}
		rs = append(rs, &kgo.Record{Topic: testEvents, Partition: 0, Key: []byte("k" + itoa(i)),
			Value: []byte(b.value), Headers: hs})
		// A valid event after each bad one: the stream goes on.
		rs = append(rs, &kgo.Record{Topic: testEvents, Key: []byte("k" + itoa(i)),
			Value: event("ok", i, "u"+itoa(i), "81.2.69.142")})
	}
	produce(t, c.client(t), rs...)

	dead := readTopic(t, c, testDLQ, func(rs []*kgo.Record) bool { return len(rs) >= len(bad) })
	byTrace := map[string]*kgo.Record{}
	for _, r := range dead {
		byTrace[header(r, "trace")] = r
	}
	for i, b := range bad {
		r := byTrace[itoa(i)]
		if r == nil {
			t.Errorf("bad record %d (%s) has no dead letter", i, b.code)
			continue
		}
		if !bytes.Equal(r.Value, []byte(b.value)) || string(r.Key) != "k"+itoa(i) {
			t.Errorf("dead letter %d changed the record: key %q value %.40q", i, r.Key, r.Value)
		}
		if got := firstHeader(r, HeaderErrorCode); got != b.code {
			t.Errorf("dead letter %d: reason %q, want %q", i, got, b.code)
		}
		checkForgedHeaders(t, r)
		if got := header(r, HeaderErrorField); got != b.field {
			t.Errorf("dead letter %d: field %q, want %q", i, got, b.field)
		}
		if header(r, HeaderErrorMessage) == "" || header(r, HeaderSourceTopic) != testEvents ||
			header(r, HeaderSourcePartition) == "" || header(r, HeaderSourceOffset) == "" ||
			header(r, HeaderSourceTimestamp) == "" {
			t.Errorf("dead letter %d: headers %v", i, r.Headers)
		}
	}
	firstDecisions(t, decisions(t, c, ids("ok", 0, len(bad))), ids("ok", 0, len(bad)))
	waitCommitted(t, c, testEvents)
}

// checkForgedHeaders checks that the source's headers in verdict's namespace
// were renamed, and that each of ours is there once.
func checkForgedHeaders(t *testing.T, r *kgo.Record) {
	t.Helper()
	if got := header(r, "original."+HeaderErrorCode); got != "spoof" {
		t.Errorf("dead letter at %d: original.%s = %q, want the forged value",
			r.Offset, HeaderErrorCode, got)
	}
	if got := header(r, "original.Verdict.Source.Topic"); got != "elsewhere" {
		t.Errorf("dead letter at %d: forged source topic not renamed: %v", r.Offset, r.Headers)
	}
	seen := map[string]int{}
	for _, h := range r.Headers {
		if strings.HasPrefix(strings.ToLower(h.Key), HeaderNamespace) {
			seen[h.Key]++
			if seen[h.Key] > 1 || string(h.Value) == "spoof" {
				t.Errorf("dead letter at %d: header %s forged or repeated: %v", r.Offset, h.Key,
					r.Headers)
			}
		}
	}
}

// firstHeader returns the value of the first header named k, as a reader
// that stops at the first match sees it.
func firstHeader(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

func TestAckTracker(t *testing.T) {
	var tr ackTracker
	rs := make([]*kgo.Record, 5)
	for i := range rs {
		rs[i] = &kgo.Record{Offset: int64(i)}
		tr.add(rs[i])
	}
	steps := []struct {
		ack  uint64
		want int64 // offset marked, -1 none
	}{{1, -1}, {2, -1}, {0, 2}, {4, -1}, {3, 4}}
	for _, s := range steps {
		got := tr.ack(s.ack)
		switch {
		case s.want < 0 && got != nil:
			t.Errorf("ack %d marked offset %d, want nothing: an earlier one is outstanding",
				s.ack, got.Offset)
		case s.want >= 0 && (got == nil || got.Offset != s.want):
			t.Errorf("ack %d marked %v, want offset %d", s.ack, got, s.want)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
