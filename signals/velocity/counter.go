package velocity

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Event times outside [minUnix, maxUnix] cannot be held in int64
// nanoseconds. Earlier ones are dropped as late; later ones are clamped.
var (
	minUnix = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
)

// noTime marks a counter that has not accepted an event yet.
const noTime = math.MinInt64

// cell is one unit of per-key state. For an event counter it is a time
// bucket: t is the bucket's start and v the events in it; a key's cells are
// sorted by t. For a distinct counter it is a value: v is its hash and t the
// newest time it was seen; the cell with the greatest t is kept last so that
// the key's recency is read in O(1).
type cell struct {
	v uint64
	t int64 // Unix nanoseconds
}

// TODO: index keys by a pointer-free map to slab slots: ~80 B/key of map now, and GC scans it.

// shard holds the keys whose hash falls in its range. Each shard has its own
// lock, so Adds on different keys rarely wait for each other.
type shard struct {
	mu      sync.Mutex
	keys    map[uint64][]cell
	max     int   // keys this shard may hold
	cellCap int   // sum of cap() of the cell slices, for the memory estimate
	nextDue int64 // event time from which the routine sweep of dead keys runs again
	nextCap int64 // event time from which a full sweep may run again when full
	_       [16]byte
}

// Counter counts events, or distinct values, per key over a sliding window
// of event time. It is safe for concurrent use. Get one from Store.Counter.
type Counter struct {
	spec        Spec
	window      int64 // ns
	res         int64 // bucket width in ns (event counters)
	span        int64 // res*Buckets: what bucket counting covers, <= window
	lateness    int64
	maxFuture   int64
	maxDistinct int
	clock       func() time.Time
	shards      []shard
	shift       uint // key>>shift is the shard index

	newest      atomic.Int64 // newest accepted event time, noTime before the first
	futureLimit atomic.Int64 // Clock()+maxFuture at the last clock read

	late, future, saturated     atomic.Uint64
	evictExpired, evictCapacity atomic.Uint64
}

// shardKeys is the fewest keys a shard is given: below it there are fewer
// shards, so a small MaxKeys still spreads evenly and small tests are exact.
const (
	maxShards = 64
	shardKeys = 1024
)

func newCounter(spec Spec, o Options) *Counter {
	c := &Counter{
		spec:        spec,
		window:      int64(spec.Window),
		lateness:    int64(o.Lateness),
		maxFuture:   int64(o.MaxFuture),
		maxDistinct: o.MaxDistinct,
		clock:       o.Clock,
	}
	if !spec.Distinct {
		c.res = c.window / int64(spec.Buckets)
		c.span = c.res * int64(spec.Buckets)
	}
	n := 1
	for n < maxShards && o.MaxKeys/(2*n) >= shardKeys {
		n *= 2
	}
	c.shift = 64 - uint(bits.TrailingZeros(uint(n)))
	c.shards = make([]shard, n)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.keys = make(map[uint64][]cell)
		// Spread the remainder so the shards add up to MaxKeys exactly.
		sh.max = o.MaxKeys / n
		if i < o.MaxKeys%n {
			sh.max++
		}
		sh.nextDue, sh.nextCap = noTime, noTime
	}
	c.newest.Store(noTime)
	c.futureLimit.Store(noTime)
	return c
}

// Spec returns the counter's Spec, with defaults applied.
func (c *Counter) Spec() Spec { return c.spec }

func (c *Counter) shardFor(key uint64) *shard {
	// Go defines a shift by 64 as zero, which selects the only shard.
	return &c.shards[key>>c.shift]
}

// Add records one event for key at event time at and returns the count over
// the window ending at at, this event included. distinct is the hash of the
// counted value and is ignored unless the counter is Distinct. An event too
// late to place (see the package doc) is not recorded; Add then returns what
// Peek would.
func (c *Counter) Add(key, distinct uint64, at time.Time) int {
	t, ok := c.eventTime(at, true)
	if !ok {
		c.late.Add(1)
		return 0
	}
	newest := c.advance(t)
	if t < newest-c.lateness-c.window {
		c.late.Add(1)
		return c.peek(key, t)
	}
	sh := c.shardFor(key)
	sh.mu.Lock()
	n := c.record(sh, key, distinct, t, newest)
	sh.mu.Unlock()
	return n
}

// Peek returns the count over the window ending at at without recording
// anything.
func (c *Counter) Peek(key uint64, at time.Time) int {
	t, ok := c.eventTime(at, false)
	if !ok {
		return 0
	}
	return c.peek(key, t)
}

func (c *Counter) peek(key uint64, t int64) int {
	sh := c.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c.spec.Distinct {
		return countDistinct(sh.keys[key], t-c.window)
	}
	return c.countEvents(sh.keys[key], t)
}

// eventTime converts at to nanoseconds, clamping it to Clock()+MaxFuture.
// It reports false for a time too old to represent.
func (c *Counter) eventTime(at time.Time, add bool) (int64, bool) {
	s := at.Unix()
	if s < minUnix {
		return 0, false
	}
	t := int64(math.MaxInt64)
	if s <= maxUnix {
		t = at.UnixNano()
	}
	// The clock is read only when an event passes the cached limit, which
	// real-time traffic does about once per MaxFuture.
	if t > c.futureLimit.Load() {
		limit := c.clock().UnixNano() + c.maxFuture
		storeMax(&c.futureLimit, limit)
		if t > limit {
			t = limit
			if add {
				c.future.Add(1)
			}
		}
	}
	return t, true
}

// advance raises the counter's newest event time to t and returns the
// newest time after that.
func (c *Counter) advance(t int64) int64 {
	return storeMax(&c.newest, t)
}

// storeMax raises v to x if x is greater and returns v's new value.
func storeMax(v *atomic.Int64, x int64) int64 {
	for {
		cur := v.Load()
		if x <= cur {
			return cur
		}
		if v.CompareAndSwap(cur, x) {
			return x
		}
	}
}

// record adds the event to key's cells; sh is locked.
func (c *Counter) record(sh *shard, key, v uint64, t, newest int64) int {
	cells, found := sh.keys[key]
	if !found {
		c.admit(sh, newest)
	}
	oldLen, oldCap := len(cells), cap(cells)
	var n int
	if c.spec.Distinct {
		cells, n = c.addDistinct(cells, v, t, newest)
	} else {
		cells, n = c.addEvent(cells, t, newest)
	}
	// A warm key whose bucket or value already existed changed in place; the
	// map only needs the new slice header when its length or array changed.
	if !found || len(cells) != oldLen || cap(cells) != oldCap {
		sh.keys[key] = cells
		sh.cellCap += cap(cells) - oldCap
	}
	return n
}

// retainFrom is the oldest cell time a counter keeps when its newest event
// is at newest: what an event at the oldest accepted time still needs.
func (c *Counter) retainFrom(newest int64) int64 {
	h := newest - c.lateness - c.window
	if c.spec.Distinct {
		return h
	}
	return c.bucketStart(h)
}

// expiredAt returns the cut-off at or below which a key's newest cell no
// longer counts for an event at newest: the key is expired.
func (c *Counter) expiredAt(newest int64) int64 {
	if c.spec.Distinct {
		return newest - c.window
	}
	return c.bucketStart(newest) - c.span
}

// bucketStart returns the start of the bucket holding t (floor division, so
// that times before 1970 also land in the right bucket).
func (c *Counter) bucketStart(t int64) int64 {
	q := t / c.res
	if t%c.res < 0 {
		q--
	}
	return q * c.res
}
