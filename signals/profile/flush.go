package profile

import (
	"encoding/json"
	"errors"
	"fmt"
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
	profiles map[string][]byte // nil value: delete
	lessons  map[string][]byte
	attached []func(Writer) error
	done     []func(bool)
}

// Flush writes every changed profile, lesson and attachment to disk in one
// transaction.
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
	w := pendingWrite{profiles: marshalProfiles(batch), lessons: marshalLessons(lessons)}
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
func marshalProfiles(batch map[string]*entry) map[string][]byte {
	out := make(map[string][]byte, len(batch))
	for k, e := range batch {
		e.mu.Lock()
		var b []byte
		if e.p != nil {
			// A Profile holds only JSON-safe types; Marshal cannot fail.
			b, _ = json.Marshal(e.p)
		}
		e.mu.Unlock()
		out[k] = b
	}
	return out
}

func marshalLessons(batch map[string]*Lesson) map[string][]byte {
	out := make(map[string][]byte, len(batch))
	for k, l := range batch {
		var b []byte
		if l != nil {
			b, _ = json.Marshal(l)
		}
		out[k] = b
	}
	return out
}

func (w *pendingWrite) apply(tx *bolt.Tx, attached []Attachment) error {
	for _, kv := range []struct {
		bucket []byte
		m      map[string][]byte
	}{{bucketProfiles, w.profiles}, {bucketLessons, w.lessons}} {
		b := tx.Bucket(kv.bucket)
		for k, v := range kv.m {
			var err error
			if v == nil {
				err = b.Delete([]byte(k))
			} else {
				err = b.Put([]byte(k), v)
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
		errs = append(errs, write(b))
	}
	return errors.Join(errs...)
}
