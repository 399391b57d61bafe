package velocity

import "math"

// evictSample is how many keys capacity eviction compares. With 16 the
// victim is, with high probability, among the oldest few percent of keys.
const evictSample = 16

// admit makes room for a new key in sh; sh is locked. It runs the routine
// sweep of dead keys when it is due and evicts when the shard is full.
func (c *Counter) admit(sh *shard, newest int64) {
	if newest >= sh.nextDue {
		// A key is dead once it holds nothing the counter can still use. One
		// sweep per Window+Lateness keeps dead keys below two such spans'
		// worth without scanning on every insert.
		sh.nextDue = newest + c.window + c.lateness
		c.evictExpired.Add(uint64(c.sweep(sh, c.retainFrom(newest)-1)))
	}
	if len(sh.keys) >= sh.max {
		c.makeRoom(sh, newest)
	}
}

// makeRoom evicts at least one key from a full shard: every expired key if a
// full sweep is allowed, otherwise, or if none had expired, the least
// recently updated key of a random sample.
func (c *Counter) makeRoom(sh *shard, newest int64) {
	expired := c.expiredAt(newest)
	if newest >= sh.nextCap {
		// Keys expire one bucket at a time, so sweeping more often than
		// once per bucket would find little and cost a scan per insert.
		gap := c.res
		if c.spec.Distinct {
			gap = c.window / DefaultBuckets
		}
		sh.nextCap = newest + gap
		if c.evictExpired.Add(uint64(c.sweep(sh, expired))); len(sh.keys) < sh.max {
			return
		}
	}
	victim, last := oldestOfSample(sh)
	sh.cellCap -= cap(sh.keys[victim])
	delete(sh.keys, victim)
	if last <= expired {
		c.evictExpired.Add(1)
	} else {
		c.evictCapacity.Add(1)
	}
}

// sweep deletes the keys whose newest cell is at or before cut and returns
// how many it deleted.
func (c *Counter) sweep(sh *shard, cut int64) int {
	n := 0
	for key, cells := range sh.keys {
		if cells[len(cells)-1].t <= cut {
			sh.cellCap -= cap(cells)
			delete(sh.keys, key)
			n++
		}
	}
	return n
}

// oldestOfSample returns, among up to evictSample keys, the one whose newest
// event is oldest, and that event's time. Ranging over a Go map starts at a
// random place, which makes the sample random.
func oldestOfSample(sh *shard) (uint64, int64) {
	var victim uint64
	oldest, n := int64(math.MaxInt64), 0
	for key, cells := range sh.keys {
		if t := cells[len(cells)-1].t; t < oldest {
			victim, oldest = key, t
		}
		if n++; n == evictSample {
			break
		}
	}
	return victim, oldest
}
