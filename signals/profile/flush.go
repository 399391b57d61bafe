package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Attachment is state kept in the profile database beside the profiles and
// written in the same transactions, so that it survives a restart exactly as
// the profiles do (the RBA model's global tables are one).
type Attachment interface {
	// Bucket names the attachment's own bucket.
	Bucket() string
	// Load is called for every key of the bucket when the attachment is
	// attached, in key order.
	Load(key, value []byte) error
	// Changes hands over what changed since the last call: write puts it
	// in the transaction, and done says whether the transaction committed;
	// when it did not, the changes must be handed over again next time.
	Changes() (write func(Writer) error, done func(committed bool))
}

// Writer is what an Attachment writes through: its bucket.
type Writer interface {
	Put(key, value []byte) error
	Delete(key []byte) error
}

// Attach loads a's bucket and writes a's changes at every flush from now
// on. Without a database (Path empty) it does nothing: a's state then lives
// in memory only. Attach before the store is used.
func (s *Store) Attach(a Attachment) error {
	if s.db == nil {
		return nil
	}
	name := []byte(a.Bucket())
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		return b.ForEach(a.Load)
	})
	if err != nil {
		return fmt.Errorf("load %s from the profile store: %w", name, err)
	}
	s.writeMu.Lock()
	s.attached = append(s.attached, a)
	s.writeMu.Unlock()
	return nil
}

func (s *Store) flushLoop() {
	defer close(s.stopped)
	t := time.NewTicker(s.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.Flush(); err != nil {
				s.log.Error("profile flush", "err", err)
			}
		case <-s.stop:
			return
		}
	}
}

// pendingWrite is one batch of a Flush.
type pendingWrite struct {
	profiles []record
	lessons  []record
	attached []func(Writer) error
	done     []func(bool)
}

// record is one key of a batch and its encoding; a nil value deletes it.
type record struct {
	key   string
	value []byte
}

// flushYield is how many records a Flush encodes between yields of its
// processor. Encoding a batch of a busy second (thousands of profiles)
// takes tens of milliseconds of CPU; yielding every ~0.2 ms lets decisions
// queued behind the flush run meanwhile instead of waiting for it to end.
const flushYield = 32

// flushArenaMax bounds the encoding buffer a Store keeps between flushes; a
// larger one, left by an unusually big batch, is dropped after use.
const flushArenaMax = 16 << 20

// arena holds the encodings of one flush back to back, reused from one flush
// to the next so that encoding a batch allocates nothing per record. Values
// are sliced out of it only once the batch is complete, since appending may
// move it.
type arena struct {
	b []byte
	// failed counts the records of the flush that could not be encoded.
	failed int
}

// encoder is a record type's fast JSON appender (see encode.go).
type encoder interface {
	appendJSON(b []byte) ([]byte, bool)
}

// encode appends v's JSON and returns its bounds in the arena, or -1 when
// v cannot be encoded (a NaN coordinate): the record is then left out of
// this flush rather than written as a deletion.
func (a *arena) encode(v encoder) (start, end int) {
	start = len(a.b)
	b, ok := v.appendJSON(a.b)
	if !ok {
		// What the appenders leave to encoding/json; it fails for values
		// JSON cannot hold.
		raw, err := json.Marshal(v)
		if err != nil {
			a.failed++
			a.b = b[:start]
			return -1, -1
		}
		b = append(b[:start], raw...)
	}
	a.b = b
	return start, len(b)
}

// Flush writes every changed profile, lesson and attachment to disk in one
// transaction.
//
// TODO: bbolt's commit runs 10–17 ms of CPU once a second without yielding and is most of the HTTP p99 left at 5k/s (~10 ms, target 2 ms); a journal (one append and fsync a second, applied to bbolt in small steps) would end it.
func (s *Store) Flush() error {
	if s.db == nil {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.dirtyMu.Lock()
	batch := s.dirty
	s.dirty = make(map[string]*entry, len(batch))
	s.flushing = batch
	s.dirtyMu.Unlock()
	lessons := s.lessons.startFlush()
	defer func() {
		s.dirtyMu.Lock()
		s.flushing = nil
		s.dirtyMu.Unlock()
	}()

	start := time.Now()
	a := &s.arena
	a.b, a.failed = a.b[:0], 0
	w := pendingWrite{profiles: a.profiles(batch), lessons: a.lessons(lessons)}
	defer a.release()
	if a.failed > 0 {
		s.metrics.errors.WithLabelValues("encode").Add(float64(a.failed))
		s.log.Error("records left out of the flush", "records", a.failed,
			"err", "a value JSON cannot hold")
	}
	for _, a := range s.attached {
		write, done := a.Changes()
		w.attached, w.done = append(w.attached, write), append(w.done, done)
	}
	err := s.db.Update(func(tx *bolt.Tx) error { return w.apply(tx, s.attached) })
	for _, done := range w.done {
		done(err == nil)
	}
	s.lessons.endFlush(err == nil)
	if err != nil {
		s.metrics.errors.WithLabelValues("write").Inc()
		s.requeue(batch)
		return fmt.Errorf("write %d profiles: %w", len(w.profiles), err)
	}
	if len(w.profiles)+len(w.lessons) > 0 {
		s.metrics.flushes.Observe(time.Since(start).Seconds())
		s.metrics.written.Add(float64(len(w.profiles)))
	}
	return nil
}

// requeue keeps a batch that could not be written for the next attempt
// rather than lose it.
func (s *Store) requeue(batch map[string]*entry) {
	s.dirtyMu.Lock()
	defer s.dirtyMu.Unlock()
	for k, e := range batch {
		if _, newer := s.dirty[k]; !newer {
			s.dirty[k] = e
		}
	}
}

// TODO: a compact binary profile encoding; JSON takes about 1.9 KB per typical user on disk.

// profiles encodes the profiles of a batch, each under its entry lock.
func (a *arena) profiles(batch map[string]*entry) []record {
	out := make([]record, 0, len(batch))
	bounds := make([][2]int, 0, len(batch))
	for k, e := range batch {
		e.mu.Lock()
		b := [2]int{-1, -1}
		unencodable := false
		if e.p != nil {
			b[0], b[1] = a.encode(e.p)
			unencodable = b[0] < 0
		}
		e.mu.Unlock()
		if unencodable {
			continue
		}
		out = append(out, record{key: k})
		bounds = append(bounds, b)
		yieldEvery(len(out))
	}
	return a.slice(out, bounds)
}

// lessons encodes the lessons of a batch.
func (a *arena) lessons(batch map[string]*Lesson) []record {
	out := make([]record, 0, len(batch))
	bounds := make([][2]int, 0, len(batch))
	for k, l := range batch {
		b := [2]int{-1, -1}
		if l != nil {
			if b[0], b[1] = a.encode(l); b[0] < 0 {
				continue
			}
		}
		out = append(out, record{key: k})
		bounds = append(bounds, b)
		yieldEvery(len(out))
	}
	return a.slice(out, bounds)
}

// slice points the records at their encodings once the arena no longer
// moves; bounds of -1 leave a nil value (a deletion).
func (a *arena) slice(out []record, bounds [][2]int) []record {
	for i, b := range bounds {
		if b[0] >= 0 {
			out[i].value = a.b[b[0]:b[1]:b[1]]
		}
	}
	return out
}

// release forgets the arena's contents after the transaction, and the
// arena itself when a big batch made it larger than worth keeping.
func (a *arena) release() {
	if cap(a.b) > flushArenaMax {
		a.b = nil
	}
	a.b = a.b[:0]
}

// yieldEvery lets other goroutines run after every flushYield records.
func yieldEvery(n int) {
	if n%flushYield == 0 {
		runtime.Gosched()
	}
}

// apply puts the batch in the transaction. It yields as the encoding does:
// a busy second's batch is thousands of puts, and only the commit that
// follows cannot be interrupted. Decisions do not wait on the transaction
// itself (readers never wait for bbolt's writer), only for a processor.
func (w *pendingWrite) apply(tx *bolt.Tx, attached []Attachment) error {
	for _, kv := range []struct {
		bucket  []byte
		records []record
	}{{bucketProfiles, w.profiles}, {bucketLessons, w.lessons}} {
		b := yielding{Writer: tx.Bucket(kv.bucket)}
		for _, r := range kv.records {
			var err error
			if r.value == nil {
				err = b.Delete([]byte(r.key))
			} else {
				err = b.Put([]byte(r.key), r.value)
			}
			if err != nil {
				return err
			}
		}
	}
	var errs []error
	for i, write := range w.attached {
		b := tx.Bucket([]byte(attached[i].Bucket()))
		if b == nil {
			return fmt.Errorf("bucket %s is missing", attached[i].Bucket())
		}
		errs = append(errs, write(&yielding{Writer: b}))
	}
	return errors.Join(errs...)
}

// yielding is a Writer that lets other goroutines run every flushYield
// writes.
type yielding struct {
	Writer
	n int
}

func (y *yielding) Put(key, value []byte) error {
	y.n++
	yieldEvery(y.n)
	return y.Writer.Put(key, value)
}

func (y *yielding) Delete(key []byte) error {
	y.n++
	yieldEvery(y.n)
	return y.Writer.Delete(key)
}
