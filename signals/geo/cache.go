package geo

import (
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
)

// DefaultCacheSize is the number of decoded records each city database file
// keeps when CityOptions.CacheSize is zero.
//
// The real DB-IP City Lite files hold about 425,000 (IPv4) and 280,000 (IPv6)
// distinct records, but login traffic concentrates on a few thousand places,
// so 65,536 slots give a high hit rate for at most about 8 MiB per file.
const DefaultCacheSize = 1 << 16

// recordCache maps a record's offset in the data section to its decoded
// Location. Many addresses share one record (every address of a city block
// points at the same offset), so caching by offset rather than by address
// lets a whole network share one decoded entry.
//
// The cache is two-way set-associative: a multiplicative hash of the offset
// picks a pair of slots, a lookup checks both, and a new record takes an
// empty slot of its pair or else replaces one of the two at random. (With
// one slot per record, two busy records that hash alike would evict each
// other on every lookup; random replacement in a pair makes that rare.) Each
// slot is an atomic pointer to an immutable entry, so a hit costs two atomic
// loads at most and no lock, readers never see a half-written entry, and
// memory is bounded by the slot count.
//
// We chose this over ristretto, which the module also carries, because its
// admission policy and buffered, asynchronous Set add work to every lookup
// and a background goroutine that must be closed, and buy little here: a
// miss costs one re-decode of about a microsecond.
type recordCache struct {
	slots []atomic.Pointer[cacheEntry]
	shift uint // 64 - log2(number of pairs)
}

// cacheEntry is never modified after it is stored.
type cacheEntry struct {
	offset uintptr
	loc    Location
	ok     bool // false: the record exists but holds no location
}

// newRecordCache returns a cache of at least size slots (rounded up to a
// power of two, two at least), or nil when size is not positive: a nil cache
// stores nothing.
func newRecordCache(size int) *recordCache {
	if size <= 0 {
		return nil
	}
	n := max(bits.Len(uint(size-1)), 1) // log2 of the slot count
	return &recordCache{
		slots: make([]atomic.Pointer[cacheEntry], 1<<n),
		shift: uint(64 - (n - 1)),
	}
}

// pair returns the two slots offset may live in. The hash spreads offsets,
// which are clustered, over the pairs; shift is 64 for a single pair, which
// Go defines to give 0.
func (c *recordCache) pair(offset uintptr) []atomic.Pointer[cacheEntry] {
	i := (uint64(offset) * 0x9e3779b97f4a7c15 >> c.shift) * 2
	return c.slots[i : i+2 : i+2]
}

// get returns the entry for offset, or nil when it is not cached.
func (c *recordCache) get(offset uintptr) *cacheEntry {
	if c == nil {
		return nil
	}
	p := c.pair(offset)
	if e := p[0].Load(); e != nil && e.offset == offset {
		return e
	}
	if e := p[1].Load(); e != nil && e.offset == offset {
		return e
	}
	return nil
}

// put stores e in an empty slot of its pair, or else in a random one of the
// two. Two goroutines may race to fill one slot; either entry is valid.
func (c *recordCache) put(e *cacheEntry) {
	if c == nil {
		return
	}
	p := c.pair(e.offset)
	switch {
	case p[0].Load() == nil:
		p[0].Store(e)
	case p[1].Load() == nil:
		p[1].Store(e)
	default:
		p[rand.Uint32()&1].Store(e)
	}
}
