package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// setMaxMessageBytes sets a topic's max.message.bytes, the most a batch
// of records may weigh on the broker.
func setMaxMessageBytes(t *testing.T, c *cluster, topic string, n int) {
	t.Helper()
	v := fmt.Sprint(n)
	res, err := kadm.NewClient(c.client(t)).AlterTopicConfigs(context.Background(),
		[]kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: &v}}, topic)
	if err == nil {
		_, err = res.On(topic, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// uncompressed are consumer options whose produced batches are not
// compressed: their size on the broker and their bytes are as written.
func uncompressed(c *cluster, reg *prometheus.Registry) Options {
	o := c.options(kgo.ProducerBatchCompression(kgo.NoCompression()))
	o.Registerer = reg
	return o
}

// TestOversizedDecision: one decision too large for the decisions topic
// goes to the dead-letter topic as decision_too_large with its event, and
// the stream and its commits go on. The topic's limit also refuses any two
// ordinary decisions batched together: each, produced again alone, fits.
func TestOversizedDecision(t *testing.T) {
	c := newCluster(t)
	// An ordinary decision weighs about 1.9 kB with its headers; the big
	// one, with a long user id and a long (valid) e-mail address, about
	// 3.8 kB.
	setMaxMessageBytes(t, c, testDecisions, 3000)
	reg := prometheus.NewRegistry()
	start(t, newEngine(t, newState(t)), uncompressed(c, reg), nil)

	const ip = "81.2.69.142"
	big := []byte(`{"id":"big-1","type":"login","outcome":"failed","ip":"` + ip +
		`","user":{"id":"` + strings.Repeat("u", 1000) + `","email":"` + strings.Repeat("a", 60) +
		"@" + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." +
		strings.Repeat("d", 50) + `.example.com"}}`)
	events := failedLogins("o", 0, 40, ip)
	events = slices.Insert(events, 20, &kgo.Record{Topic: testEvents, Key: []byte(ip), Value: big})
	produce(t, c.client(t), events...)

	want := ids("o", 0, 40)
	firstDecisions(t, decisions(t, c, want), want)
	dead := readTopic(t, c, testDLQ, func(rs []*kgo.Record) bool { return len(rs) > 0 })
	waitCommitted(t, c, testEvents)
	if n := endOffsets(t, c, testDLQ)[0]; n != 1 {
		t.Errorf("%d dead letters, want the big decision's only", n)
	}
	r := dead[0]
	if got := header(r, HeaderErrorCode); got != ReasonDecisionTooLarge ||
		!bytes.Equal(r.Value, big) || header(r, HeaderSourceOffset) != "20" ||
		!strings.Contains(header(r, HeaderErrorMessage), "MESSAGE_TOO_LARGE") {
		t.Errorf("dead letter: reason %q, value %.30q, headers %v", got, r.Value, r.Headers)
	}
	if got := metricSum(t, reg, "verdict_kafka_dead_letters_total"); got != 1 {
		t.Errorf("dead_letters_total = %v, want 1", got)
	}
}

// requestHolds matches produce requests to topic whose records contain
// marker (the records must not be compressed).
func requestHolds(c *cluster, topic, marker string) func(kmsg.Request) bool {
	to := producesTo(c, topic)
	return func(req kmsg.Request) bool {
		if !to(req) {
			return false
		}
		for _, rt := range req.(*kmsg.ProduceRequest).Topics {
			for _, rp := range rt.Partitions {
				if bytes.Contains(rp.Records, []byte(marker)) {
					return true
				}
			}
		}
		return false
	}
}

// TestRefusedRecords: a decision the broker refuses for good (INVALID_RECORD)
// becomes a dead letter (decision_unproducible) of its event; a dead letter
// it refuses becomes one without the record's key, value and headers; and a
// record whose every dead letter is refused is skipped and counted. Only
// the records at fault are affected, and the commits reach the end.
func TestRefusedRecords(t *testing.T) {
	c := newCluster(t)
	c.Fault(
		kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: testDecisions, Err: kerr.InvalidRecord,
			Count: -1, When: requestHolds(c, testDecisions, `"bad-1"`)},
		kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: testDLQ, Err: kerr.InvalidRecord,
			Count: -1, When: requestHolds(c, testDLQ, "zzstrip")},
		kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: testDLQ, Err: kerr.InvalidRecord,
			Count: -1, When: requestHolds(c, testDLQ, "zzgiveup")})
	reg := prometheus.NewRegistry()
	start(t, newEngine(t, newState(t)), uncompressed(c, reg), nil)

	const ip = "81.2.69.142"
	bad := []*kgo.Record{
		{Value: event("bad", 1, "u-bad", ip)},
		{Value: []byte("zzstrip"), Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("1")}}},
		{Value: []byte(`{"type":"login","ip":"` + ip + `","zzgiveup":1}`)},
	}
	events := failedLogins("ok", 0, 30, ip)
	for i, r := range bad {
		r.Topic, r.Key = testEvents, []byte(ip)
		events = slices.Insert(events, 10*i+5, r)
	}
	produce(t, c.client(t), events...)

	want := ids("ok", 0, 30)
	firstDecisions(t, decisions(t, c, want), want)
	dead := readTopic(t, c, testDLQ, func(rs []*kgo.Record) bool { return len(rs) >= 2 })
	waitCommitted(t, c, testEvents)
	if n := endOffsets(t, c, testDLQ)[0]; n != 2 {
		t.Errorf("%d dead letters, want 2", n)
	}
	full, stripped := dead[0], dead[1]
	if header(full, HeaderStripped) != "" { // the two are produced concurrently
		full, stripped = stripped, full
	}
	if header(full, HeaderErrorCode) != ReasonDecisionUnproducible ||
		!bytes.Equal(full.Value, bad[0].Value) ||
		!strings.Contains(header(full, HeaderErrorMessage), "INVALID_RECORD") {
		t.Errorf("refused decision's dead letter: value %.30q, headers %v", full.Value,
			full.Headers)
	}
	if header(stripped, HeaderErrorCode) != "invalid_json" ||
		header(stripped, HeaderStripped) != "true" || stripped.Value != nil ||
		stripped.Key != nil || header(stripped, "trace") != "" ||
		header(stripped, HeaderSourceOffset) != "15" {
		t.Errorf("stripped dead letter: key %q value %q, headers %v", stripped.Key, stripped.Value,
			stripped.Headers)
	}
	if got := metricSum(t, reg, "verdict_kafka_records_unproducible_total"); got != 1 {
		t.Errorf("records_unproducible_total = %v, want 1", got)
	}
}

// TestRefusedForGood: what counts as the record's fault.
func TestRefusedForGood(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{kerr.MessageTooLarge, true},
		{fmt.Errorf("%w (uncompressed_bytes=9)", kerr.MessageTooLarge), true},
		{kerr.RecordListTooLarge, true},
		{kerr.InvalidRecord, true},
		{kerr.CorruptMessage, true},
		{kerr.UnknownServerError, true},
		{kerr.NotLeaderForPartition, false},
		{kerr.TopicAuthorizationFailed, false},
		{kerr.SaslAuthenticationFailed, false},
		{kerr.OutOfOrderSequenceNumber, false},
		{kgo.ErrRecordTimeout, false},
		{errors.New("connection reset"), false},
	} {
		if got := refusedForGood(tc.err); got != tc.want {
			t.Errorf("refusedForGood(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
