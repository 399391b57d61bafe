package rba

import (
	"encoding/binary"
	"fmt"
)

// Bucket is the name of the model's bucket in the profile database.
const Bucket = "rba"

// Keys and values in the bucket (integers big-endian):
//
//	't' u32(tenant id)               → u64(logins) u64(users) name
//	'v' u8(level) u64(value hash)    → u32(count) u32(tenant id)
//
// Tenant records sort before values, so Load knows every tenant before it
// meets its values; distinct counts are not stored but counted at Load.
const (
	prefixTenant = 't'
	prefixValue  = 'v'
)

// Writer is where a Model writes its changes: a bucket of the profile
// database (a *bbolt.Bucket has these methods).
type Writer interface {
	Put(key, value []byte) error
	Delete(key []byte) error
}

// Load restores one record written by Changes. Records must come in key
// order, as a bucket's ForEach gives them.
func (m *Model) Load(key, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case len(key) == 5 && key[0] == prefixTenant && len(value) >= 16:
		id := binary.BigEndian.Uint32(key[1:])
		name := string(value[16:])
		t := &tenant{id: id, name: name, seed: seedOf(name),
			logins: binary.BigEndian.Uint64(value), users: binary.BigEndian.Uint64(value[8:])}
		for uint32(len(m.byID)) <= id {
			m.byID = append(m.byID, nil)
		}
		m.byID[id], m.tenants[name] = t, t
	case len(key) == 10 && key[0] == prefixValue && key[1] < byte(NumLevels) && len(value) == 8:
		l := Level(key[1])
		c := cell{n: binary.BigEndian.Uint32(value), tenant: binary.BigEndian.Uint32(value[4:])}
		if int(c.tenant) >= len(m.byID) || m.byID[c.tenant] == nil || c.n == 0 {
			return fmt.Errorf("rba: value record of unknown tenant %d", c.tenant)
		}
		k := binary.BigEndian.Uint64(key[2:])
		if len(m.tables[l].m) >= m.maxValues {
			// MaxValues was lowered since the tables were written.
			m.evict(l)
		}
		if _, dup := m.tables[l].m[k]; !dup {
			m.byID[c.tenant].distinct[l]++
		}
		m.tables[l].m[k] = c
	default:
		return fmt.Errorf("rba: unknown record %q", key)
	}
	return nil
}

// Changes hands what changed since its last call to a flush: write puts the
// state of every changed record, as it was at the call, through w, and
// done(false), when the flush did not commit, keeps the changes for the next
// call. The records are copied under the lock, so writing them does not hold
// up Score and Learn.
func (m *Model) Changes() (write func(Writer) error, done func(committed bool)) {
	m.mu.Lock()
	m.flushing, m.dirty = m.dirty, newChanges()
	recs := m.recordsLocked(m.flushing)
	m.mu.Unlock()
	write = func(w Writer) error {
		for _, r := range recs {
			var err error
			if r.value == nil {
				err = w.Delete(r.key)
			} else {
				err = w.Put(r.key, r.value)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return write, m.endFlush
}

type record struct{ key, value []byte }

// recordsLocked encodes the current state of the changed records; a nil
// value deletes. m.mu is held.
func (m *Model) recordsLocked(ch changes) []record {
	recs := make([]record, 0, len(ch.tenants)+len(ch.values))
	for id := range ch.tenants {
		t := m.byID[id]
		key := binary.BigEndian.AppendUint32([]byte{prefixTenant}, id)
		val := binary.BigEndian.AppendUint64(make([]byte, 0, 16+len(t.name)), t.logins)
		val = binary.BigEndian.AppendUint64(val, t.users)
		recs = append(recs, record{key, append(val, t.name...)})
	}
	for vk := range ch.values {
		key := binary.BigEndian.AppendUint64([]byte{prefixValue, byte(vk.level)}, vk.key)
		r := record{key: key}
		if c, ok := m.tables[vk.level].m[vk.key]; ok {
			r.value = binary.BigEndian.AppendUint32(make([]byte, 0, 8), c.n)
			r.value = binary.BigEndian.AppendUint32(r.value, c.tenant)
		}
		recs = append(recs, r)
	}
	return recs
}

func (m *Model) endFlush(committed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !committed {
		for k := range m.flushing.values {
			m.dirty.values[k] = struct{}{}
		}
		for id := range m.flushing.tenants {
			m.dirty.tenants[id] = struct{}{}
		}
	}
	m.flushing = changes{}
}
