package replay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/verdictrisk/verdict/engine"
)

// Label says who made an event in a labelled stream; it travels beside the
// event ({"label": {...}, "event": {...}}), as bench/sim writes it.
type Label struct {
	// Kind is "legit" or "attack".
	Kind string `json:"kind"`
	// Attack names the attack of an attack event.
	Attack   string `json:"attack,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	// Decisive marks the events whose decision matters (attempts, successes
	// and signups, not after-the-fact reports).
	Decisive bool `json:"decisive"`
}

// Record is one event of a stream.
type Record struct {
	// Pos says where the record is: "line 12", or "partition 3 offset 881".
	Pos string
	// Raw is the event's JSON as it was in the stream.
	Raw   []byte
	Event engine.Event
	// At is the event's time, zero when it has none.
	At    time.Time
	Label *Label
	// Err is why the record is not a valid event; it is counted, reported
	// and skipped.
	Err error
	// enriched are the event's stateless signals, computed once for both
	// sides.
	enriched *engine.Enriched
}

// Source yields the records of a stream in order. Next is called from one
// goroutine; Progress may be called from another.
type Source interface {
	// Next returns the next record, or io.EOF at the end of the stream. An
	// error is the stream's; a record that does not decode is returned
	// with its Err set.
	Next() (*Record, error)
	// Progress says how far the stream has been read, in units the source
	// chooses (bytes, offsets); total is 0 when unknown.
	Progress() (done, total int64)
}

// maxLine bounds one line; an event is at most 64 KiB over HTTP.
const maxLine = 1 << 20

// JSONL reads a stream of JSON lines: each a bare event, or a labelled
// record {"label": {...}, "event": {...}}. Blank lines are skipped.
type JSONL struct {
	sc    *bufio.Scanner
	line  int
	read  atomic.Int64 // Progress is read from another goroutine
	total int64
}

// NewJSONL reads r; size is its length in bytes for progress (0 if
// unknown).
func NewJSONL(r io.Reader, size int64) *JSONL {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	return &JSONL{sc: sc, total: size}
}

// Next implements Source.
func (j *JSONL) Next() (*Record, error) {
	for j.sc.Scan() {
		j.line++
		line := j.sc.Bytes()
		j.read.Add(int64(len(line)) + 1)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return Decode(fmt.Sprintf("line %d", j.line), line), nil
	}
	if err := j.sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", j.line+1, err)
	}
	return nil, io.EOF
}

// Progress implements Source, in bytes.
func (j *JSONL) Progress() (int64, int64) { return j.read.Load(), j.total }

// wrapper is a labelled record; a bare event has neither member.
type wrapper struct {
	Label *Label         `json:"label"`
	Event jsontext.Value `json:"event"`
}

// Decode reads one record: a bare event or a labelled one. data is copied.
func Decode(pos string, data []byte) *Record {
	rec := &Record{Pos: pos}
	var w wrapper
	if err := json.Unmarshal(data, &w); err != nil {
		rec.Raw = bytes.Clone(data)
		rec.Err = fmt.Errorf("not a JSON object: %w", err)
		return rec
	}
	raw := data
	if len(w.Event) > 0 {
		raw = w.Event
	} else if w.Label != nil {
		rec.Raw, rec.Err = bytes.Clone(data), errors.New(`a labelled record without "event"`)
		return rec
	}
	rec.Raw, rec.Label = bytes.Clone(raw), w.Label
	if err := engine.DecodeEvent(rec.Raw, &rec.Event); err != nil {
		rec.Err = err
		return rec
	}
	if rec.Event.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, rec.Event.Time)
		if err != nil {
			rec.Err = &engine.FieldError{Code: engine.CodeInvalidValue, Field: "time",
				Message: fmt.Sprintf("%q is not an RFC 3339 time", rec.Event.Time)}
			return rec
		}
		rec.At = t
	}
	return rec
}
