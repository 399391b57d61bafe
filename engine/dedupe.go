package engine

import (
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/google/uuid"

	"github.com/verdictrisk/verdict/rules"
)

// dedupe remembers the decisions of recent event ids, so that an event sent
// twice (an HTTP retry, a Kafka redelivery) gets its first decision again
// and is not counted twice in velocity or profiles.
//
// Entries live for the window and at most max entries are kept; beyond that
// the oldest generation is dropped. Two generations rotate: lookups check
// both, inserts go to the current one, and the older one is dropped when
// the current one is a window old or full. An id is therefore remembered
// for between one and two windows.
//
// The memory holds nothing the garbage collector has to trace: each
// generation is an index from key hash to position and the decisions
// encoded back to back in chunks of bytes. Kept as Go values, the few
// hundred thousand decisions of a busy hour were millions of objects that
// every GC cycle marked: after 200,000 decisions a cycle took 250 ms of
// wall time on 2 cores against 50 ms in a fresh process, and decisions
// queued behind it.
type dedupe struct {
	window time.Duration
	max    int

	shards [16]dedupeShard
}

type dedupeShard struct {
	mu       sync.Mutex
	cur, old generation
	started  time.Time
}

// remembered is what is kept of a decision to answer its event again, the
// verdict without the signals, as a lookup decodes it.
type remembered struct {
	id, eventID, rulesVersion, userKey string
	action                             uint8
	score                              int
	reasons, shadow                    []Reason
	missing                            []string
	at                                 time.Time
	// digest identifies the event the id was first used for (eventDigest);
	// 0 when unknown (a decision restored from the decisions topic).
	digest uint64
}

// eventDigest identifies an event well enough to tell a retry of it from
// another event that reuses its id: what happened, to whom, from where. The
// time is left out, since some clients stamp a retry anew.
func eventDigest(ev *Event) uint64 {
	var h xxhash.Digest
	h.Reset()
	for _, f := range [...]string{ev.Type, ev.Outcome, ev.User.ID, ev.User.Email, ev.User.Login,
		ev.IP, ev.Device.ID} {
		h.WriteString(f)
		h.WriteString("\x00")
	}
	return h.Sum64() | 1 // never 0, which means unknown
}

// CodeIDReused is the error code of an event whose id was used within the
// dedupe window for a different event.
const CodeIDReused = "id_reused"

// reused reports whether the remembered decision belongs to another event
// than ev, and the error to answer it with.
func (r *remembered) reused(ev *Event) error {
	if r.digest == 0 || r.digest == eventDigest(ev) {
		return nil
	}
	return &FieldError{Code: CodeIDReused, Field: "id", Message: "this id was used for a " +
		"different event within the last dedupe window (type, outcome, user, ip or device " +
		"differ); give every event its own id, and a retry the same id and content"}
}

// decision rebuilds the decision; its signals are not kept.
func (r *remembered) decision() *Decision {
	return &Decision{ID: r.id, EventID: r.eventID, RulesVersion: r.rulesVersion,
		userKey: r.userKey, Action: rules.Action(r.action), Score: r.score,
		Reasons: r.reasons, Shadow: r.shadow, Missing: r.missing, Time: r.at, Repeated: true}
}

func newDedupe(window time.Duration, max int) *dedupe {
	d := &dedupe{window: window, max: max}
	for i := range d.shards {
		d.shards[i].cur.index = map[uint64]uint32{}
	}
	return d
}

func (d *dedupe) shard(h uint64) *dedupeShard {
	return &d.shards[h%uint64(len(d.shards))]
}

func (d *dedupe) get(key string, now time.Time) *remembered {
	if d == nil || key == "" {
		return nil
	}
	h := xxhash.Sum64String(key)
	s := d.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if age := now.Sub(s.started); age >= 2*d.window {
		return nil // both generations are older than the window; put rotates them
	} else if age >= d.window {
		return s.cur.get(h, key)
	}
	if r := s.cur.get(h, key); r != nil {
		return r
	}
	return s.old.get(h, key)
}

func (d *dedupe) put(key string, dec *Decision, digest uint64, now time.Time) {
	if d == nil || key == "" {
		return
	}
	buf := recordBufs.Get().(*[]byte)
	defer recordBufs.Put(buf)
	*buf = appendRemembered((*buf)[:0], key, dec, digest)
	h := xxhash.Sum64String(key)
	s := d.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started.IsZero() {
		s.started = now
	}
	if now.Sub(s.started) >= d.window || len(s.cur.index) >= d.max/len(d.shards)/2 {
		s.old, s.started = s.cur, now
		s.cur = generation{index: make(map[uint64]uint32, len(s.old.index))}
	}
	s.cur.put(h, *buf)
}

// recordBufs are the buffers a decision is encoded into before the shard
// is locked to copy it in.
var recordBufs = sync.Pool{New: func() any { return new([]byte) }}

// forget removes every remembered decision of a user of a tenant
// (erasure), zeroing what was kept of it.
func (d *dedupe) forget(tenant, userKey string) int {
	if d == nil {
		return 0
	}
	n := 0
	prefix := tenant + "\x00"
	for i := range d.shards {
		s := &d.shards[i]
		s.mu.Lock()
		n += s.cur.forget(prefix, userKey) + s.old.forget(prefix, userKey)
		s.mu.Unlock()
	}
	return n
}

// Remember makes d the decision a later event with d's event id (in tenant)
// is answered with, as if the engine had just made it: the event is then
// neither counted nor learnt from again. A restarted process uses it to
// rebuild its dedupe memory from where its decisions were kept (the Kafka
// decisions topic), so that events redelivered after a crash are not
// counted twice. userKey is the decision's signals.user.key (for erasure).
// It returns false, and changes nothing, when the id is empty or already
// remembered, or when the user was erased after the decision was made: an
// erasure outlives the restart (profile.Store.ErasedAt).
func (e *Engine) Remember(tenant, userKey string, d *Decision) bool {
	if d == nil || d.EventID == "" || e.erasedSince(tenant, userKey, d.ID) {
		return false
	}
	key := tenant + "\x00" + d.EventID
	now := e.opts.Now()
	if e.dedupe.get(key, now) != nil {
		return false
	}
	c := *d
	c.tenant, c.userKey = tenant, userKey
	e.dedupe.put(key, &c, 0, now)
	return true
}

// erasedSince reports whether the user was erased after the decision with
// this id was made. A decision id is a UUIDv7, which carries its time; an
// id without one counts as older than any erasure.
func (e *Engine) erasedSince(tenant, user, id string) bool {
	if user == "" {
		return false
	}
	erased, ok := e.opts.Profiles.ErasedAt(profileKey(tenant, user))
	if !ok {
		return false
	}
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return true
	}
	made := time.Unix(u.Time().UnixTime())
	return !made.After(erased)
}
