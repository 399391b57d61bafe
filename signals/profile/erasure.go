package profile

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Erasure records say when a user was erased (Delete), so that state
// rebuilt after a restart from a log of past decisions — the engine's
// dedupe memory, from the Kafka decisions topic — leaves out the decisions
// made before the erasure. A record is the SHA-256 digest of the profile
// key and a time: it does not name the user to whoever does not already
// know the key. Records are kept ErasureTTL, in the bucket below and in
// memory.

var bucketErasures = []byte("erasures")

type erasureKey = [sha256.Size]byte

// erasures is the in-memory copy of the records. mu is a leaf lock.
type erasures struct {
	mu sync.Mutex
	m  map[erasureKey]int64 // Unix nanoseconds of the last erasure
}

func digest(key string) erasureKey { return sha256.Sum256([]byte(key)) }

func (e *erasures) put(k erasureKey, at int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[erasureKey]int64{}
	}
	e.m[k] = at
}

// ErasedAt returns when the profile of key was last erased, if that was
// within ErasureTTL (or before the last Sweep pruned it).
func (s *Store) ErasedAt(key string) (time.Time, bool) {
	s.erased.mu.Lock()
	at, ok := s.erased.m[digest(key)]
	s.erased.mu.Unlock()
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, at), true
}

// putErasure writes the record of key's erasure at at.
func putErasure(tx *bolt.Tx, k erasureKey, at int64) error {
	return tx.Bucket(bucketErasures).Put(k[:], binary.BigEndian.AppendUint64(nil, uint64(at)))
}

// loadErasures reads the records younger than ErasureTTL into memory.
func (s *Store) loadErasures(tx *bolt.Tx) error {
	cutoff := time.Now().Add(-s.opts.ErasureTTL).UnixNano()
	return tx.Bucket(bucketErasures).ForEach(func(k, v []byte) error {
		if len(k) != sha256.Size || len(v) != 8 {
			return fmt.Errorf("erasure record %x: %d bytes, not a digest and a time", k, len(v))
		}
		if at := int64(binary.BigEndian.Uint64(v)); at >= cutoff {
			s.erased.put(erasureKey(k), at)
		}
		return nil
	})
}

// pruneErasures deletes the records older than ErasureTTL before now, on
// disk and in memory.
func (s *Store) pruneErasures(now time.Time) error {
	cutoff := now.Add(-s.opts.ErasureTTL).UnixNano()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.db != nil {
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketErasures)
			var old [][]byte
			err := b.ForEach(func(k, v []byte) error {
				if len(v) == 8 && int64(binary.BigEndian.Uint64(v)) < cutoff {
					old = append(old, k)
				}
				return nil
			})
			for _, k := range old {
				if err == nil {
					err = b.Delete(k)
				}
			}
			return err
		})
		if err != nil {
			s.metrics.errors.WithLabelValues("write").Inc()
			return fmt.Errorf("prune erasure records: %w", err)
		}
	}
	s.erased.mu.Lock()
	defer s.erased.mu.Unlock()
	for k, at := range s.erased.m {
		if at < cutoff {
			delete(s.erased.m, k)
		}
	}
	return nil
}
