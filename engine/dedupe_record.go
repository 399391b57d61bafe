package engine

import (
	"encoding/binary"
	"math/bits"

	"github.com/verdictrisk/verdict/rules"
)

// generation is one generation of a dedupe shard: an index from key hash to
// the position of the record, and the records back to back in chunks, each
// record its length then its body (appendRemembered). A position is the
// chunk's number shifted left by chunkBits plus the offset in the chunk; a
// record never spans two chunks (one larger than a chunk gets a chunk of its
// own). Two keys with the same 64-bit hash in one generation (about one
// chance in 10^8 at the default bound) share a slot: the later one wins, and
// a lookup of the other finds nothing rather than a wrong decision, since
// records hold their key.
type generation struct {
	index  map[uint64]uint32
	chunks [][]byte
}

const (
	chunkBits  = 16
	chunkSize  = 1 << chunkBits
	firstChunk = 1 << 10
)

// put copies in the record body and indexes it under h.
func (g *generation) put(h uint64, body []byte) {
	size := (bits.Len64(uint64(len(body))|1)+6)/7 + len(body) // with the uvarint length
	last := len(g.chunks) - 1
	if last < 0 || len(g.chunks[last])+size > cap(g.chunks[last]) {
		// Chunks double from firstChunk up to chunkSize: a generation may
		// hold a handful of decisions (a replay's clock rotates them every
		// hour of event time), or a hundred thousand.
		n := firstChunk
		if last >= 0 {
			n = min(2*cap(g.chunks[last]), chunkSize)
		}
		g.chunks = append(g.chunks, make([]byte, 0, max(n, size)))
		last++
	}
	c := g.chunks[last]
	g.index[h] = uint32(last)<<chunkBits | uint32(len(c))
	c = binary.AppendUvarint(c, uint64(len(body)))
	g.chunks[last] = append(c, body...)
}

// body returns the body of the record at pos.
func (g *generation) body(pos uint32) []byte {
	c := g.chunks[pos>>chunkBits][pos&(chunkSize-1):]
	n, w := binary.Uvarint(c)
	return c[w : w+int(n)]
}

// get decodes the record of key, or returns nil.
func (g *generation) get(h uint64, key string) *remembered {
	pos, ok := g.index[h]
	if !ok {
		return nil
	}
	d := recordDecoder{b: g.body(pos)}
	if string(d.bytes()) != key {
		return nil
	}
	return d.remembered()
}

// forget drops the records of a user whose keys start with prefix (the
// tenant), zeroing their bytes, and returns how many there were. It reads
// the key and the user key in place, allocating nothing.
func (g *generation) forget(prefix, userKey string) int {
	n := 0
	for h, pos := range g.index {
		body := g.body(pos)
		d := recordDecoder{b: body}
		key := d.bytes()
		d.skipVerdict()
		d.bytes() // decision id
		d.bytes() // event id
		d.bytes() // rules version
		if string(d.bytes()) != userKey || len(key) < len(prefix) ||
			string(key[:len(prefix)]) != prefix {
			continue
		}
		clear(body)
		delete(g.index, h)
		n++
	}
	return n
}

// appendRemembered appends the body of dec's record under key: the key, the
// event digest, the time, the action and score, the decision id, event id,
// rules version and user key, the reasons, the shadow reasons and the
// missing families.
func appendRemembered(b []byte, key string, dec *Decision, digest uint64) []byte {
	b = appendStr(b, key)
	b = binary.LittleEndian.AppendUint64(b, digest)
	// The time with its zone, length first; a time that has no binary form
	// (a zone offset out of range) is kept as the zero time.
	at := len(b)
	b = append(b, 0)
	if t, err := dec.Time.AppendBinary(b); err == nil {
		b = t
		b[at] = byte(len(b) - at - 1)
	} else {
		b = b[:at+1]
	}
	b = append(b, byte(dec.Action))
	b = binary.AppendVarint(b, int64(dec.Score))
	for _, s := range [...]string{dec.ID, dec.EventID, dec.RulesVersion, dec.userKey} {
		b = appendStr(b, s)
	}
	b = appendReasonList(b, dec.Reasons)
	b = appendReasonList(b, dec.Shadow)
	b = binary.AppendUvarint(b, uint64(len(dec.Missing)))
	for _, m := range dec.Missing {
		b = appendStr(b, m)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendReasonList(b []byte, rs []Reason) []byte {
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for _, r := range rs {
		b = appendStr(appendStr(b, r.Code), r.Rule)
		b = binary.AppendVarint(b, int64(r.Score))
		b = appendStr(append(b, byte(r.Action)), r.Message)
	}
	return b
}

// recordDecoder reads a record body appendRemembered wrote. The records are
// this process's own, so it trusts them: a read past the end panics.
type recordDecoder struct{ b []byte }

func (d *recordDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) byte() byte {
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// bytes returns the next length-prefixed field in place.
func (d *recordDecoder) bytes() []byte {
	n := d.uvarint()
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) str() string { return string(d.bytes()) }

// skipVerdict skips the digest, time, action and score.
func (d *recordDecoder) skipVerdict() {
	d.b = d.b[8:]
	d.b = d.b[1+int(d.b[0]):]
	d.byte()
	d.varint()
}

// remembered decodes what follows the key.
func (d *recordDecoder) remembered() *remembered {
	r := &remembered{digest: binary.LittleEndian.Uint64(d.b)}
	d.b = d.b[8:]
	if t := d.b[1 : 1+int(d.b[0])]; len(t) > 0 {
		// The process's own encoding of a valid time: it decodes.
		_ = r.at.UnmarshalBinary(t)
	}
	d.b = d.b[1+int(d.b[0]):]
	r.action, r.score = d.byte(), int(d.varint())
	r.id, r.eventID, r.rulesVersion, r.userKey = d.str(), d.str(), d.str(), d.str()
	r.reasons, r.shadow = d.reasons(), d.reasons()
	if n := d.uvarint(); n > 0 {
		r.missing = make([]string, n)
		for i := range r.missing {
			r.missing[i] = d.str()
		}
	}
	return r
}

func (d *recordDecoder) reasons() []Reason {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	rs := make([]Reason, n)
	for i := range rs {
		rs[i].Code, rs[i].Rule, rs[i].Score = d.str(), d.str(), int(d.varint())
		rs[i].Action, rs[i].Message = rules.Action(d.byte()), d.str()
	}
	return rs
}
