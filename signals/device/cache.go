package device

import "github.com/dgraph-io/ristretto/v2"

// newCache returns the cache of parse results, keyed by the user agent.
//
// Ristretto rather than an LRU: its TinyLFU admission only lets a new user
// agent in when it has been seen more often than the entry it would evict.
// Credential-stuffing tools rotate random user agents; with an LRU every one
// of them would push out a real browser's entry and turn the next real login
// into a cold parse, while here one-off user agents are simply not admitted.
// Gets are lock-free and allocation-free. The costs: sets are applied
// asynchronously and may be dropped under contention (the next Parse of that
// user agent is cold again), and the cache runs goroutines until Close.
//
// Ristretto stores two 64-bit hashes of the key, not the key, so memory is
// bounded by the entry count whatever the user agents' length.
func newCache(size int) (*ristretto.Cache[string, *entry], error) {
	return ristretto.NewCache(&ristretto.Config[string, *entry]{
		// Ten counters per entry, as ristretto's authors advise, to keep
		// frequency estimates accurate.
		NumCounters:        int64(size) * 10,
		MaxCost:            int64(size),
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
}
