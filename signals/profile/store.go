package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
)

var (
	bucketProfiles = []byte("profiles")
	bucketLessons  = []byte("lessons")
)

// Options configure a Store.
type Options struct {
	// Path is the bbolt database file. Empty keeps profiles in memory
	// only (tests, replays, evaluation).
	Path string
	// MaxCached bounds the profiles held in memory; beyond it the least
	// recently used clean profiles are dropped from memory (they stay on
	// disk) and counted in verdict_profiles_evicted_total. Default 200,000;
	// BenchmarkProfileMemory measures the bytes per profile. Without a Path
	// nothing is dropped, since memory is then the only copy.
	MaxCached int
	// FlushInterval is how often changed profiles (and attached state such
	// as the RBA tables) are written to disk in one transaction. It is the
	// most a crash can lose. Default 1s.
	FlushInterval time.Duration
	// Horizon is how long an unused device, country, operator, network,
	// address or user agent stays in a profile, counted back from the
	// user's newest event; Sweep drops whole profiles not seen for that
	// long. Default 180 days.
	Horizon time.Duration
	// ErasureTTL is how long the store remembers that a user was erased
	// (ErasedAt), so that a decision made before the erasure is not
	// brought back when the dedupe memory is rebuilt from the Kafka
	// decisions topic after a restart. It must be at least that rebuild's
	// reach, the dedupe window. Default 7 days, the decisions topic's
	// default retention. A record costs about 50 bytes, in memory and on
	// disk; Sweep deletes the older ones.
	ErasureTTL time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// DefaultOptions are the Store defaults.
var DefaultOptions = Options{MaxCached: 200_000, FlushInterval: time.Second,
	Horizon: 180 * 24 * time.Hour, ErasureTTL: 7 * 24 * time.Hour}

const numShards = 64

// initialMmapSize is the address space the database is mapped with from the
// start. bbolt remaps a growing file (in doubling steps up to 1 GiB): a remap
// waits for every read transaction, holds off new ones (decisions loading a
// profile) while it runs, and copies every value the flush has staged. A
// gigabyte of address space, which costs no memory until used, keeps a new
// database from remapping about once a second while it fills.
const initialMmapSize = 1 << 30

// Store holds profiles in memory and persists them in bbolt. It is safe for
// concurrent use; a profile is locked between Acquire and Release, so two
// events of one user are processed one after the other.
type Store struct {
	opts   Options
	db     *bolt.DB
	shards [numShards]shard
	log    *slog.Logger
	erased erasures

	// dirtyMu guards the profiles and lessons waiting to be written, and
	// those being written by a Flush that has not committed yet: until it
	// has, they must neither be evicted nor read from disk.
	// writeMu serialises writes to disk: a Flush and an erasure never
	// interleave, so an erased profile cannot be written back by a flush
	// that read it just before.
	writeMu  sync.Mutex
	dirtyMu  sync.Mutex
	dirty    map[string]*entry
	flushing map[string]*entry
	lessons  lessonBuffer

	attached []Attachment
	// arena is the encoding buffer of Flush, under writeMu.
	arena arena

	stop    chan struct{}
	stopped chan struct{}
	closeMu sync.Once
	metrics *metrics
}

type shard struct {
	mu sync.Mutex
	m  map[string]*entry
}

type entry struct {
	mu sync.Mutex
	// h is the entry's Handle, made once so that Acquire does not allocate.
	h       Handle
	key     string
	p       *Profile
	loaded  bool
	lastUse int64
	refs    int
}

// Open opens (or creates) the store.
func Open(opts Options) (*Store, error) {
	applyDefaults(&opts)
	s := &Store{opts: opts, dirty: map[string]*entry{}, stop: make(chan struct{}),
		stopped: make(chan struct{}), log: opts.Logger.With("component", "profiles")}
	s.lessons.pending, s.lessons.mem = map[string]*Lesson{}, opts.Path == ""
	for i := range s.shards {
		s.shards[i].m = map[string]*entry{}
	}
	s.metrics = newMetrics(opts.Registerer, s)
	if opts.Path == "" {
		close(s.stopped)
		return s, nil
	}
	db, err := bolt.Open(opts.Path, 0o600, &bolt.Options{Timeout: 2 * time.Second,
		InitialMmapSize: initialMmapSize})
	if err != nil {
		return nil, fmt.Errorf("open profile store %s: %w", opts.Path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketProfiles, bucketLessons, bucketErasures} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return s.loadErasures(tx)
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open profile store %s: %w", opts.Path, err)
	}
	s.db = db
	go s.flushLoop()
	return s, nil
}

func applyDefaults(o *Options) {
	d := DefaultOptions
	if o.MaxCached <= 0 {
		o.MaxCached = d.MaxCached
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = d.FlushInterval
	}
	if o.Horizon <= 0 {
		o.Horizon = d.Horizon
	}
	if o.ErasureTTL <= 0 {
		o.ErasureTTL = d.ErasureTTL
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Horizon returns how long unused values stay in a profile.
func (s *Store) Horizon() time.Duration { return s.opts.Horizon }

// Persistent reports whether the store writes to disk.
func (s *Store) Persistent() bool { return s.db != nil }

// Handle is a locked profile. Its Profile may be read and changed until
// Release.
type Handle struct {
	s *Store
	e *entry
}

// Profile returns the profile, or nil when the user has none yet.
func (h *Handle) Profile() *Profile { return h.e.p }

// Create returns the profile, creating an empty one for the key if needed.
func (h *Handle) Create() *Profile {
	if h.e.p == nil {
		h.e.p = &Profile{Key: h.e.key}
	}
	return h.e.p
}

// Changed marks the profile to be written at the next flush.
func (h *Handle) Changed() {
	h.s.dirtyMu.Lock()
	h.s.dirty[h.e.key] = h.e
	h.s.dirtyMu.Unlock()
}

// Expire forgets the values of the profile not seen within the store's
// horizon before at, or before the user's newest event if that is later (so
// that a replayed old event does not age a profile backwards).
func (h *Handle) Expire(at time.Time) {
	p := h.e.p
	if p == nil {
		return
	}
	newest := max(at.Unix(), p.LastSeen)
	if p.Expire(time.Unix(newest, 0).Add(-h.s.opts.Horizon)) {
		h.Changed()
	}
}

// Release unlocks the profile.
func (h *Handle) Release() {
	h.e.mu.Unlock()
	sh := h.s.shard(h.e.key)
	sh.mu.Lock()
	h.e.refs--
	sh.mu.Unlock()
}

func (s *Store) shard(key string) *shard {
	return &s.shards[xxhash.Sum64String(key)%numShards]
}

// Acquire locks the profile of key, loading it from disk when it is not in
// memory. A read error is returned; the caller then decides without the
// profile (the signal is reported missing).
func (s *Store) Acquire(key string) (*Handle, error) {
	sh := s.shard(key)
	sh.mu.Lock()
	e := sh.m[key]
	if e == nil {
		e = &entry{key: key}
		e.h = Handle{s: s, e: e}
		sh.m[key] = e
		s.evictLocked(sh)
	}
	e.refs++
	e.lastUse = time.Now().UnixNano()
	sh.mu.Unlock()

	e.mu.Lock()
	if !e.loaded {
		p, err := s.load(key)
		if err != nil {
			e.mu.Unlock()
			s.unref(sh, e)
			return nil, err
		}
		e.p, e.loaded = p, true
	}
	return &e.h, nil
}

func (s *Store) unref(sh *shard, e *entry) {
	sh.mu.Lock()
	e.refs--
	sh.mu.Unlock()
}

func (s *Store) load(key string) (*Profile, error) {
	if s.db == nil {
		return nil, nil
	}
	var p *Profile
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketProfiles).Get([]byte(key))
		if v == nil {
			return nil
		}
		p = new(Profile)
		return json.Unmarshal(v, p)
	})
	if err != nil {
		s.metrics.errors.WithLabelValues("read").Inc()
		return nil, fmt.Errorf("read profile: %w", err)
	}
	return p, nil
}

// evictLocked drops clean, unused entries from a shard over its share of
// MaxCached. It examines a handful of entries (Go's map order is random)
// and drops the least recently used of them: an approximate LRU that costs
// O(1) per insert. Without a database only entries without a profile (left
// by events of unknown users) may go, since memory is the only copy.
func (s *Store) evictLocked(sh *shard) {
	if len(sh.m) <= s.opts.MaxCached/numShards+1 {
		return
	}
	var victim *entry
	n := 0
	for _, e := range sh.m {
		evictable := e.refs == 0 && (s.db != nil && !s.isDirty(e) || s.db == nil && e.loaded && e.p == nil)
		if evictable && (victim == nil || e.lastUse < victim.lastUse) {
			victim = e
		}
		if n++; n >= 8 {
			break
		}
	}
	if victim != nil {
		delete(sh.m, victim.key)
		s.metrics.evictions.Inc()
	}
}

// isDirty reports whether e has changes that are not on disk yet.
func (s *Store) isDirty(e *entry) bool {
	s.dirtyMu.Lock()
	_, d := s.dirty[e.key]
	_, f := s.flushing[e.key]
	s.dirtyMu.Unlock()
	return d || f
}

// Get returns a copy of the profile of key, or nil.
func (s *Store) Get(key string) (*Profile, error) {
	h, err := s.Acquire(key)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	return h.e.p.Clone(), nil
}

// Clone returns a deep copy of p (nil for nil).
func (p *Profile) Clone() *Profile {
	if p == nil {
		return nil
	}
	c := *p
	for _, l := range c.lists(&Observation{}) {
		*l.list = append([]Seen(nil), *l.list...)
	}
	c.Lessons = append([]string(nil), c.Lessons...)
	c.Aliases = append([]uint64(nil), c.Aliases...)
	if c.Last != nil {
		last := *c.Last
		c.Last = &last
	}
	return &c
}

// Erased says what Delete removed.
type Erased struct {
	// Profile is the profile as it was, nil when there was none.
	Profile *Profile
	// Lessons is the number of recent events' lessons removed.
	Lessons int
}

// Delete erases the profile of key and its lessons from memory and disk,
// and records when (ErasedAt), whether there was a profile or not. The
// erasure is on disk when Delete returns.
func (s *Store) Delete(key string) (Erased, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	h, err := s.Acquire(key)
	if err != nil {
		return Erased{}, err
	}
	er := Erased{Profile: h.e.p}
	if er.Profile != nil {
		er.Lessons = s.lessons.drop(er.Profile.Lessons)
	}
	h.e.p = nil
	// The entry is written as a deletion at once rather than at the next
	// flush, so that the answer to the caller is true when it is given;
	// the entry stays locked meanwhile, so no decision sees it half gone.
	defer h.Release()
	k, at := digest(key), time.Now().UnixNano()
	s.erased.put(k, at)
	if s.db == nil {
		return er, nil
	}
	h.Changed() // a flush would write the deletion again: harmless
	err = s.db.Update(func(tx *bolt.Tx) error {
		if er.Profile != nil {
			for _, k := range er.Profile.Lessons {
				if err := tx.Bucket(bucketLessons).Delete([]byte(k)); err != nil {
					return err
				}
			}
		}
		if err := putErasure(tx, k, at); err != nil {
			return err
		}
		return tx.Bucket(bucketProfiles).Delete([]byte(key))
	})
	if err != nil {
		s.metrics.errors.WithLabelValues("write").Inc()
		return er, fmt.Errorf("erase profile: %w", err)
	}
	return er, nil
}

// Len returns the number of profiles in memory.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// Close flushes and closes the store.
func (s *Store) Close() error {
	var err error
	s.closeMu.Do(func() {
		close(s.stop)
		<-s.stopped
		if s.db == nil {
			return
		}
		err = errors.Join(s.Flush(), s.db.Close())
	})
	return err
}
