package profile

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepBatch is how many profiles a sweep erases between two flushes.
const sweepBatch = 256

// Sweep erases every profile whose user was last seen before cutoff (the
// store's horizon before now is the usual cutoff), with its lessons, and
// returns how many it erased. fn, when not nil, is called with each profile
// just before it goes, with the profile locked. Decisions go on meanwhile;
// a user seen again before their profile's turn keeps it. It also deletes
// the erasure records older than ErasureTTL.
func (s *Store) Sweep(cutoff time.Time, fn func(*Profile)) (int, error) {
	if err := s.pruneErasures(time.Now()); err != nil {
		return 0, err
	}
	keys, err := s.staleKeys(cutoff.Unix())
	if err != nil {
		return 0, err
	}
	n := 0
	for len(keys) > 0 {
		chunk := keys[:min(sweepBatch, len(keys))]
		keys = keys[len(chunk):]
		m, err := s.sweepChunk(chunk, cutoff.Unix(), fn)
		n += m
		if err != nil {
			return n, err
		}
	}
	if n > 0 {
		s.metrics.swept.Add(float64(n))
	}
	return n, nil
}

// staleKeys lists the keys of profiles last seen before cutoff, in memory
// and on disk.
// TODO: index profiles by last-seen day; the sweep decodes every profile on disk (~1 s per 500k).
func (s *Store) staleKeys(cutoff int64) ([]string, error) {
	seen := map[string]bool{}
	var keys []string
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			// An unloaded or locked entry is checked again under its lock.
			if e.mu.TryLock() {
				if e.p != nil && e.p.LastSeen < cutoff {
					keys = append(keys, k)
				}
				seen[k] = e.loaded
				e.mu.Unlock()
			}
		}
		sh.mu.Unlock()
	}
	if s.db == nil {
		return keys, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketProfiles).ForEach(func(k, v []byte) error {
			var p struct {
				LastSeen int64 `json:"last_seen"`
			}
			if seen[string(k)] || json.Unmarshal(v, &p) != nil || p.LastSeen >= cutoff {
				return nil
			}
			keys = append(keys, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("sweep profiles: %w", err)
	}
	return keys, nil
}

// sweepChunk erases the profiles of keys that are still stale, with their
// lessons, in memory, one entry lock at a time, then writes the erasures
// with a flush. No entry lock is held while the database is written: a
// decision for one of these users never waits on the disk (it finds no
// profile, as for a new user). A crash before the flush commits leaves the
// profiles on disk for the next sweep.
func (s *Store) sweepChunk(keys []string, cutoff int64, fn func(*Profile)) (int, error) {
	n := 0
	for _, k := range keys {
		h, err := s.Acquire(k)
		if err != nil {
			return n, err
		}
		if p := h.e.p; p != nil && p.LastSeen < cutoff {
			if fn != nil {
				fn(p)
			}
			s.lessons.drop(p.Lessons)
			h.e.p = nil
			h.Changed()
			n++
		}
		h.Release()
	}
	if err := s.Flush(); err != nil {
		return n, fmt.Errorf("sweep profiles: %w", err)
	}
	return n, nil
}
