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

var bucket = []byte("profiles")

// Options configure a Store.
type Options struct {
	// Path is the bbolt database file. Empty keeps profiles in memory
	// only (tests, replays).
	Path string
	// MaxCached bounds the profiles held in memory; beyond it the least
	// recently used clean profiles are dropped from memory (they stay on
	// disk). Default 200,000 (roughly 2 KiB each). Without a Path nothing
	// is dropped, since memory is then the only copy.
	MaxCached int
	// FlushInterval is how often changed profiles are written to disk in
	// one transaction. It is the most a crash can lose. Default 1s.
	FlushInterval time.Duration
	// Horizon is how long an unused device, country, operator or network
	// stays in a profile. Default 180 days.
	Horizon    time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// DefaultOptions are the Store defaults.
var DefaultOptions = Options{MaxCached: 200_000, FlushInterval: time.Second,
	Horizon: 180 * 24 * time.Hour}

const numShards = 64

// Store holds profiles in memory and persists them in bbolt. It is safe for
// concurrent use; a profile is locked between Acquire and Release, so two
// events of one user are processed one after the other.
type Store struct {
	opts   Options
	db     *bolt.DB
	shards [numShards]shard
	log    *slog.Logger

	dirtyMu sync.Mutex
	dirty   map[string]*entry

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
	mu      sync.Mutex
	key     string
	p       *Profile
	loaded  bool
	deleted bool
	lastUse int64
	refs    int
}

// Open opens (or creates) the store.
func Open(opts Options) (*Store, error) {
	applyDefaults(&opts)
	s := &Store{opts: opts, dirty: map[string]*entry{}, stop: make(chan struct{}),
		stopped: make(chan struct{}), log: opts.Logger.With("component", "profiles")}
	for i := range s.shards {
		s.shards[i].m = map[string]*entry{}
	}
	s.metrics = newMetrics(opts.Registerer, s)
	if opts.Path == "" {
		close(s.stopped)
		return s, nil
	}
	db, err := bolt.Open(opts.Path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open profile store %s: %w", opts.Path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
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
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

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
		h.e.deleted = false
	}
	return h.e.p
}

// Changed marks the profile to be written at the next flush.
func (h *Handle) Changed() {
	h.s.dirtyMu.Lock()
	h.s.dirty[h.e.key] = h.e
	h.s.dirtyMu.Unlock()
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
		if p != nil {
			p.Expire(time.Now().Add(-s.opts.Horizon))
		}
	}
	return &Handle{s: s, e: e}, nil
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
		v := tx.Bucket(bucket).Get([]byte(key))
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
// O(1) per insert.
func (s *Store) evictLocked(sh *shard) {
	if s.db == nil || len(sh.m) <= s.opts.MaxCached/numShards+1 {
		return
	}
	var victim *entry
	n := 0
	for _, e := range sh.m {
		if e.refs == 0 && !s.isDirty(e) && (victim == nil || e.lastUse < victim.lastUse) {
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

func (s *Store) isDirty(e *entry) bool {
	s.dirtyMu.Lock()
	_, d := s.dirty[e.key]
	s.dirtyMu.Unlock()
	return d
}

// Get returns a copy of the profile of key, or nil.
func (s *Store) Get(key string) (*Profile, error) {
	h, err := s.Acquire(key)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	if h.e.p == nil {
		return nil, nil
	}
	c := *h.e.p
	c.Devices = append([]Seen(nil), c.Devices...)
	c.Countries = append([]Seen(nil), c.Countries...)
	c.ASNs = append([]Seen(nil), c.ASNs...)
	c.Networks = append([]Seen(nil), c.Networks...)
	if c.Last != nil {
		last := *c.Last
		c.Last = &last
	}
	return &c, nil
}

// Delete erases the profile of key from memory and disk. It reports whether
// there was one.
func (s *Store) Delete(key string) (bool, error) {
	h, err := s.Acquire(key)
	if err != nil {
		return false, err
	}
	existed := h.e.p != nil
	h.e.p = nil
	h.e.deleted = true
	h.Release()
	if s.db == nil {
		return existed, nil
	}
	// Erasure is written at once rather than at the next flush, so that
	// the answer to the caller is true when it is given.
	err = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete([]byte(key)) })
	if err != nil {
		return existed, fmt.Errorf("erase profile: %w", err)
	}
	return existed, nil
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

// Flush writes every changed profile to disk in one transaction.
func (s *Store) Flush() error {
	if s.db == nil {
		return nil
	}
	s.dirtyMu.Lock()
	batch := s.dirty
	s.dirty = make(map[string]*entry, len(batch))
	s.dirtyMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	start := time.Now()
	vals := make(map[string][]byte, len(batch))
	for k, e := range batch {
		e.mu.Lock()
		if e.p != nil && !e.deleted {
			b, err := json.Marshal(e.p)
			if err == nil {
				vals[k] = b
			}
		} else {
			vals[k] = nil
		}
		e.mu.Unlock()
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for k, v := range vals {
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
		return nil
	})
	if err != nil {
		s.metrics.errors.WithLabelValues("write").Inc()
		// Keep the batch for the next attempt rather than lose it.
		s.dirtyMu.Lock()
		for k, e := range batch {
			if _, newer := s.dirty[k]; !newer {
				s.dirty[k] = e
			}
		}
		s.dirtyMu.Unlock()
		return fmt.Errorf("write %d profiles: %w", len(vals), err)
	}
	s.metrics.flushes.Observe(time.Since(start).Seconds())
	s.metrics.written.Add(float64(len(vals)))
	return nil
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

type metrics struct {
	evictions prometheus.Counter
	written   prometheus.Counter
	errors    *prometheus.CounterVec
	flushes   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, s *Store) *metrics {
	m := &metrics{
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_profiles_evicted_total",
			Help: "Profiles dropped from memory to stay within the cache bound (they stay on disk).",
		}),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_profiles_written_total",
			Help: "Profiles written to the profile store.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_profiles_store_errors_total",
			Help: "Errors reading or writing the profile store, by operation.",
		}, []string{"op"}),
		flushes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "verdict_profiles_flush_duration_seconds",
			Help:    "Time taken to write one batch of changed profiles.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.evictions, m.written, m.errors, m.flushes,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "verdict_profiles_cached",
				Help: "Profiles held in memory.",
			}, func() float64 { return float64(s.Len()) }))
	}
	return m
}
