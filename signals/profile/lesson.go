package profile

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Feedback labels of a Lesson.
const (
	LabelFraud = "fraud"
	LabelLegit = "legit"
)

// Lesson is what one event taught a profile, or would have taught it had it
// been allowed: the engine records one for every successful login, signup
// and passed challenge that has an event id, so that feedback can take a
// fraudulent login back (Unlearn) or confirm one (Trust, or Learn when it
// was not allowed). A profile keeps its last MaxLessons lessons; older ones
// are deleted, which bounds the lessons on disk to MaxLessons per user.
type Lesson struct {
	// User is the key of the profile it belongs to.
	User string `json:"user"`
	// Taught is true while the profile holds what the event taught.
	Taught bool        `json:"taught"`
	Obs    Observation `json:"observation"`
	// Prev is the user's last login place before the event.
	Prev *Place `json:"prev,omitempty"`
	// Label is the feedback given so far: "", LabelFraud or LabelLegit.
	Label string `json:"label,omitempty"`
}

// Record stores l under key (the tenant and event id) as one of the
// profile's recent lessons, creating the profile if needed; the oldest
// lesson beyond MaxLessons is deleted.
func (h *Handle) Record(key string, l *Lesson) {
	p := h.Create()
	l.User = h.e.key
	if i := slices.Index(p.Lessons, key); i >= 0 {
		p.Lessons = slices.Delete(p.Lessons, i, i+1)
	}
	if len(p.Lessons) >= MaxLessons {
		h.s.lessons.drop(p.Lessons[:1])
		p.Lessons = slices.Delete(p.Lessons, 0, 1)
	}
	p.Lessons = append(p.Lessons, key)
	h.s.lessons.put(key, l)
	h.Changed()
}

// Update stores a changed lesson of this profile (after feedback).
func (h *Handle) Update(key string, l *Lesson) {
	h.s.lessons.put(key, l)
}

// Lesson returns the lesson recorded under key, or nil when there is none
// (never recorded, or dropped since).
func (s *Store) Lesson(key string) (*Lesson, error) {
	if l, ok := s.lessons.get(key); ok {
		return l.clone(), nil
	}
	if s.db == nil {
		return nil, nil
	}
	var l *Lesson
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketLessons).Get([]byte(key))
		if v == nil {
			return nil
		}
		l = new(Lesson)
		return json.Unmarshal(v, l)
	})
	if err != nil {
		s.metrics.errors.WithLabelValues("read").Inc()
		return nil, fmt.Errorf("read lesson: %w", err)
	}
	return l, nil
}

func (l *Lesson) clone() *Lesson {
	if l == nil {
		return nil
	}
	c := *l
	if c.Prev != nil {
		prev := *c.Prev
		c.Prev = &prev
	}
	return &c
}

// lessonBuffer holds the lessons not yet on disk (nil: a deletion not yet on
// disk) and, without a database, every lesson.
type lessonBuffer struct {
	mu       sync.Mutex
	pending  map[string]*Lesson
	flushing map[string]*Lesson
	// mem is set without a database: pending is then the only copy and a
	// deletion removes the lesson at once.
	mem bool
}

func (b *lessonBuffer) put(key string, l *Lesson) {
	b.mu.Lock()
	b.pending[key] = l.clone()
	b.mu.Unlock()
}

// drop deletes the lessons of keys and returns how many there were.
func (b *lessonBuffer) drop(keys []string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		if b.mem {
			delete(b.pending, k)
		} else {
			b.pending[k] = nil
		}
	}
	return len(keys)
}

// get returns the buffered lesson of key; ok is false when the buffer does
// not know it (it may be on disk).
func (b *lessonBuffer) get(key string) (*Lesson, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l, ok := b.pending[key]; ok {
		return l, true
	}
	l, ok := b.flushing[key]
	return l, ok
}

// startFlush hands the pending lessons to a Flush.
func (b *lessonBuffer) startFlush() map[string]*Lesson {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushing, b.pending = b.pending, map[string]*Lesson{}
	return b.flushing
}

// endFlush forgets the flushed lessons, or keeps them for the next attempt
// when the write failed.
func (b *lessonBuffer) endFlush(committed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !committed {
		for k, l := range b.flushing {
			if _, newer := b.pending[k]; !newer {
				b.pending[k] = l
			}
		}
	}
	b.flushing = nil
}
