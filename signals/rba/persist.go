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
// call. The changed values carry their state, so the lock is held only to
// swap the change sets and copy the few tenant totals: a busy second's
// changes used to be encoded under it, allocating two slices a value, and
// decisions waited on Score and Learn for milliseconds, for tens of them when
// a GC cycle made those allocations pay for marking. The profile store calls
// Changes once per flush, never two at a time, which the reused buffers need.
func (m *Model) Changes() (write func(Writer) error, done func(committed bool)) {
	s := &m.snap
	m.mu.Lock()
	m.flushing, m.dirty = m.dirty, m.spare
	m.spare = changes{}
	if m.dirty.values == nil {
		m.dirty = newChanges()
	}
	s.tenants = s.tenants[:0]
	for id := range m.flushing.tenants {
		t := m.byID[id]
		s.tenants = append(s.tenants, tenantState{id: id, logins: t.logins, users: t.users,
			name: t.name})
	}
	m.mu.Unlock()
	// The flushing set is the flush's own until endFlush.
	s.values = s.values[:0]
	for k, c := range m.flushing.values {
		s.values = append(s.values, valueState{key: k, cell: c})
	}
	return s.write, m.endFlush
}

// snapshot is the state of the changed records of one flush.
type snapshot struct {
	tenants []tenantState
	values  []valueState
}

type tenantState struct {
	id            uint32
	logins, users uint64
	name          string
}

// valueState is a changed value; one whose count is 0 is gone from its
// table and deleted.
type valueState struct {
	key valueKey
	cell
}

// write encodes the records into one buffer, which must outlive the
// transaction (bbolt keeps what Put is given until it commits), and puts
// them through w.
func (s *snapshot) write(w Writer) error {
	size := 0
	for _, t := range s.tenants {
		size += 5 + 16 + len(t.name)
	}
	buf := make([]byte, 0, size+len(s.values)*(10+8))
	for _, t := range s.tenants {
		k := len(buf)
		buf = binary.BigEndian.AppendUint32(append(buf, prefixTenant), t.id)
		v := len(buf)
		buf = binary.BigEndian.AppendUint64(buf, t.logins)
		buf = append(binary.BigEndian.AppendUint64(buf, t.users), t.name...)
		if err := w.Put(buf[k:v:v], buf[v:]); err != nil {
			return err
		}
	}
	for _, x := range s.values {
		k := len(buf)
		buf = binary.BigEndian.AppendUint64(append(buf, prefixValue, byte(x.key.level)), x.key.key)
		if x.n == 0 {
			if err := w.Delete(buf[k:]); err != nil {
				return err
			}
			continue
		}
		v := len(buf)
		buf = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(buf, x.n), x.tenant)
		if err := w.Put(buf[k:v:v], buf[v:]); err != nil {
			return err
		}
	}
	return nil
}

func (m *Model) endFlush(committed bool) {
	if !committed {
		m.mu.Lock()
		for k, c := range m.flushing.values {
			if _, newer := m.dirty.values[k]; !newer {
				m.dirty.values[k] = c
			}
		}
		for id := range m.flushing.tenants {
			m.dirty.tenants[id] = struct{}{}
		}
		m.mu.Unlock()
	}
	// The emptied sets become the next dirty ones: they keep the room a busy
	// second grew them to, so Learn does not grow new ones under the lock.
	// Until then they are the flush's own, cleared without the lock.
	clear(m.flushing.values)
	clear(m.flushing.tenants)
	m.mu.Lock()
	m.spare, m.flushing = m.flushing, changes{}
	m.mu.Unlock()
}
