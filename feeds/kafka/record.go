package kafka

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/verdictrisk/verdict/engine"
)

// Headers verdictd writes. Decision records carry the decision's ids so
// that a reader can route on them without parsing the value; dead letters
// carry the reason and where the record came from.
const (
	HeaderEventID      = "verdict.event_id"
	HeaderDecisionID   = "verdict.decision_id"
	HeaderAction       = "verdict.action"
	HeaderRulesVersion = "verdict.rules_version"
	HeaderTenant       = "verdict.tenant"
	// HeaderOrigin is "kafka" or "http": how the event reached verdictd.
	HeaderOrigin = "verdict.origin"
	// HeaderRepeated is "true" on a decision reproduced for an event id
	// seen before (a redelivery or a retry).
	HeaderRepeated = "verdict.repeated"

	// HeaderNamespace starts every header verdictd writes. A source
	// record's headers in it are renamed on its dead letter, with
	// OriginalHeaderPrefix before them, so that a producer cannot forge a
	// reason or a source: a reader takes the first header of a name.
	HeaderNamespace = "verdict."
	// OriginalHeaderPrefix is put before a source header in verdict's
	// namespace on a dead letter (original.verdict.error.code).
	OriginalHeaderPrefix = "original."

	HeaderErrorCode    = "verdict.error.code"
	HeaderErrorField   = "verdict.error.field"
	HeaderErrorMessage = "verdict.error.message"

	HeaderSourceTopic     = "verdict.source.topic"
	HeaderSourcePartition = "verdict.source.partition"
	HeaderSourceOffset    = "verdict.source.offset"
	// HeaderSourceTimestamp is the source record's timestamp, RFC 3339
	// with milliseconds.
	HeaderSourceTimestamp = "verdict.source.timestamp"
	// HeaderStripped is "true" on a dead letter that leaves out the source
	// record's key, value and headers because the broker refused it whole
	// (too large for the dead-letter topic, say).
	HeaderStripped = "verdict.stripped"
)

// Dead-letter reasons of the Kafka path, besides the event error codes of
// package engine (invalid_json, unknown_field, invalid_type, missing_field,
// invalid_value, too_long, duplicate_field).
const (
	ReasonEmpty    = "empty_record"
	ReasonTooLarge = "record_too_large"
	// ReasonDecisionTooLarge: the event was decided but the broker refused
	// its decision as too large (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE),
	// even produced alone.
	ReasonDecisionTooLarge = "decision_too_large"
	// ReasonDecisionUnproducible: the event was decided but the broker
	// refused its decision for good for another reason (INVALID_RECORD,
	// say), even produced alone; the message names the broker's error.
	ReasonDecisionUnproducible = "decision_unproducible"
)

// Origins of a decision.
const (
	OriginKafka = "kafka"
	OriginHTTP  = "http"
)

// decisionKey is the key of a decision record: the user key the engine
// keeps the user's state under — the user id, else the normalised e-mail,
// else the login name — else the IP address. Decisions about one user so
// land on one partition, in order, however the address was spelt.
// TODO: an erasure could produce a tombstone for the user's key, for
// operators who compact the decisions topic (docs/users.md says how by hand).
func decisionKey(ev *engine.Event, d *engine.Decision) []byte {
	if k := d.UserKey(); k != "" {
		return []byte(k)
	}
	return []byte(ev.IP)
}

// decisionRecord is what is produced for a decided event.
func decisionRecord(topic string, ev *engine.Event, d *engine.Decision, origin string) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, 10)
	hs = appendHeader(hs, HeaderEventID, d.EventID)
	hs = appendHeader(hs, HeaderDecisionID, d.ID)
	hs = appendHeader(hs, HeaderAction, d.Action.String())
	hs = appendHeader(hs, HeaderRulesVersion, d.RulesVersion)
	hs = appendHeader(hs, HeaderTenant, ev.Tenant)
	hs = appendHeader(hs, HeaderOrigin, origin)
	if d.Repeated {
		hs = appendHeader(hs, HeaderRepeated, "true")
	}
	return &kgo.Record{Topic: topic, Key: decisionKey(ev, d), Value: decisionJSON(d), Headers: hs}
}

// scratch holds buffers a decision is encoded into before it is copied to a
// value of its exact size.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// decisionJSON returns d's JSON in a slice of its own. Appended to nil, the
// answer (~2-3 KB) grew through half a dozen reallocations; the producer
// keeps the value until the broker has it, so it cannot be pooled itself.
func decisionJSON(d *engine.Decision) []byte {
	buf := scratch.Get().(*[]byte)
	*buf = d.AppendJSON((*buf)[:0])
	out := bytes.Clone(*buf)
	scratch.Put(buf)
	return out
}

// withSource adds where the event record was read to a record made for it.
func withSource(r *kgo.Record, src *kgo.Record) *kgo.Record {
	r.Headers = appendHeader(r.Headers, HeaderSourceTopic, src.Topic)
	r.Headers = appendHeader(r.Headers, HeaderSourcePartition, strconv.Itoa(int(src.Partition)))
	r.Headers = appendHeader(r.Headers, HeaderSourceOffset, strconv.FormatInt(src.Offset, 10))
	return r
}

// deadLetter is src unchanged (key, value, timestamp, headers but for
// those in verdict's namespace, renamed) on the dead-letter topic, with the
// reason and the source added as headers.
func deadLetter(topic string, src *kgo.Record, fe *engine.FieldError) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(src.Headers)+7)
	for _, h := range src.Headers {
		if len(h.Key) >= len(HeaderNamespace) &&
			strings.EqualFold(h.Key[:len(HeaderNamespace)], HeaderNamespace) {
			h.Key = OriginalHeaderPrefix + h.Key
		}
		hs = append(hs, h)
	}
	return &kgo.Record{Topic: topic, Key: src.Key, Value: src.Value,
		Headers: reasonHeaders(hs, src, fe), Timestamp: src.Timestamp}
}

// strippedDeadLetter is the dead letter of src without its key, value and
// headers, for when the broker refused the whole one (err): the reason
// and where the record was read still reach the topic.
func strippedDeadLetter(topic string, src *kgo.Record, fe *engine.FieldError,
	err error) *kgo.Record {
	why := *fe
	why.Message += "; the dead letter with the record was refused (" + err.Error() +
		"), so its key, value and headers are left out"
	hs := appendHeader(make([]kgo.RecordHeader, 0, 8), HeaderStripped, "true")
	return &kgo.Record{Topic: topic, Headers: reasonHeaders(hs, src, &why),
		Timestamp: src.Timestamp}
}

// reasonHeaders adds a dead letter's own headers to hs: the reason and
// where the record was read.
func reasonHeaders(hs []kgo.RecordHeader, src *kgo.Record,
	fe *engine.FieldError) []kgo.RecordHeader {
	hs = appendHeader(hs, HeaderErrorCode, fe.Code)
	hs = appendHeader(hs, HeaderErrorField, fe.Field)
	hs = appendHeader(hs, HeaderErrorMessage, fe.Message)
	r := withSource(&kgo.Record{Headers: hs}, src)
	return appendHeader(r.Headers, HeaderSourceTimestamp,
		src.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
}

func appendHeader(hs []kgo.RecordHeader, k, v string) []kgo.RecordHeader {
	if v == "" {
		return hs
	}
	return append(hs, kgo.RecordHeader{Key: k, Value: []byte(v)})
}

// header returns the value of the last header named k.
func header(r *kgo.Record, k string) string {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == k {
			return string(r.Headers[i].Value)
		}
	}
	return ""
}

// retryCopy is a fresh record with r's content, for producing again: a
// record handed to franz-go must not be reused, and its partition and
// offset fields were set by the failed attempt.
func retryCopy(r *kgo.Record) *kgo.Record {
	return &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers,
		Timestamp: r.Timestamp}
}

// fieldError is the dead-letter reason for err, which the decoder or the
// engine returned; ok is false for an error that is not the record's fault.
func fieldError(err error) (*engine.FieldError, bool) {
	var fe *engine.FieldError
	if errors.As(err, &fe) {
		return fe, true
	}
	return nil, false
}

// since is the time from t to now, never negative (producers' clocks
// differ).
func since(t, now time.Time) time.Duration {
	if d := now.Sub(t); d > 0 {
		return d
	}
	return 0
}
