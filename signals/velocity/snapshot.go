package velocity

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"time"
)

// Snapshot format, version 1 (integers little-endian; uv = unsigned varint,
// sv = signed varint):
//
//	"VRDVEL" u16(version) uv(counters)
//	per counter: uv(len) name, sv(window ns), u8(distinct), uv(buckets),
//	  sv(newest ns), then blocks of uv(keys) keys ending with uv(0)
//	per key: u64(key) uv(cells), then per cell
//	  event counter: first sv(bucket index), later uv(index delta); uv(count)
//	  distinct counter: u64(value hash) uv(newest - seen ns)
//	u32 CRC-32C of every byte before it
const (
	snapMagic   = "VRDVEL"
	snapVersion = 1
	// Bounds that a corrupt length cannot exceed, so that decoding never
	// allocates for a count the input cannot hold.
	maxNameLen  = 1024
	maxSnapCell = 1 << 24
)

// ErrCorrupt is wrapped by the error of Restore when the snapshot is not a
// whole, intact snapshot of a known version.
var ErrCorrupt = errors.New("velocity snapshot is corrupt")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Snapshot writes every counter's spec and state to w, for a restart. Each
// shard is copied under its lock, so Adds may go on, but a snapshot taken
// while they do is not one instant of the whole store.
func (s *Store) Snapshot(w io.Writer) error {
	live := s.counters()
	sum := crc32.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 64<<10)
	buf := binary.LittleEndian.AppendUint16([]byte(snapMagic), snapVersion)
	buf = binary.AppendUvarint(buf, uint64(len(live)))
	_, _ = bw.Write(buf) // bufio keeps the first error; Flush returns it
	for _, c := range live {
		_, _ = bw.Write(c.appendSpec(buf[:0]))
		for i := range c.shards {
			buf = c.appendShard(buf[:0], &c.shards[i])
			_, _ = bw.Write(buf)
		}
		_, _ = bw.Write([]byte{0})
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write velocity snapshot: %w", err)
	}
	if _, err := w.Write(binary.LittleEndian.AppendUint32(nil, sum.Sum32())); err != nil {
		return fmt.Errorf("write velocity snapshot checksum: %w", err)
	}
	return nil
}

func (c *Counter) appendSpec(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(c.spec.Name)))
	b = append(b, c.spec.Name...)
	b = binary.AppendVarint(b, int64(c.spec.Window))
	d := byte(0)
	if c.spec.Distinct {
		d = 1
	}
	b = append(b, d)
	b = binary.AppendUvarint(b, uint64(c.spec.Buckets))
	return binary.AppendVarint(b, c.newest.Load())
}

// appendShard appends one block with the keys of sh, or nothing if it is
// empty.
func (c *Counter) appendShard(b []byte, sh *shard) []byte {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.keys) == 0 {
		return b
	}
	newest := c.newest.Load()
	b = binary.AppendUvarint(b, uint64(len(sh.keys)))
	for key, cells := range sh.keys {
		b = binary.LittleEndian.AppendUint64(b, key)
		b = binary.AppendUvarint(b, uint64(len(cells)))
		if c.spec.Distinct {
			for _, x := range cells {
				b = binary.LittleEndian.AppendUint64(b, x.v)
				b = binary.AppendUvarint(b, uint64(newest-x.t))
			}
			continue
		}
		prev := cells[0].t / c.res
		b = binary.AppendVarint(b, prev)
		for i, x := range cells {
			if i > 0 {
				b = binary.AppendUvarint(b, uint64(x.t/c.res-prev))
				prev = x.t / c.res
			}
			b = binary.AppendUvarint(b, x.v)
		}
	}
	return b
}

// Restore reads a snapshot written by Snapshot. Each counter in it replaces
// the state of the live counter with an equal Spec, or, if there is none,
// becomes a live counter that a later Store.Counter with that Spec returns
// (and Retain drops if no rule uses it). The whole snapshot is read and
// checked before anything changes: on any error, wrapping ErrCorrupt for a
// damaged snapshot, the store is as it was. Keys beyond MaxKeys are evicted
// as Add would.
func (s *Store) Restore(r io.Reader) error {
	// TODO: stream the decode instead of holding the whole snapshot in memory.
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read velocity snapshot: %w", err)
	}
	snap, err := decodeSnapshot(data)
	if err != nil {
		return fmt.Errorf("restore velocity snapshot: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range snap {
		c := s.find(d.spec)
		if c == nil {
			c = newCounter(d.spec, s.opts)
			s.live = append(s.live, c)
		}
		c.load(d)
	}
	return nil
}

// savedCounter is one decoded counter.
type savedCounter struct {
	spec   Spec
	newest int64
	keys   []savedKey
}

type savedKey struct {
	key   uint64
	cells []cell
}

// load replaces c's state with d's.
func (c *Counter) load(d savedCounter) {
	newest := storeMax(&c.newest, d.newest)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.keys = make(map[uint64][]cell)
		sh.cellCap = 0
		sh.nextDue, sh.nextCap = noTime, noTime
		sh.mu.Unlock()
	}
	for _, k := range d.keys {
		sh := c.shardFor(k.key)
		sh.mu.Lock()
		if len(sh.keys) >= sh.max {
			c.makeRoom(sh, newest)
		}
		sh.keys[k.key] = k.cells
		sh.cellCap += cap(k.cells)
		sh.mu.Unlock()
	}
}

// decoder reads a snapshot; the first problem sticks in err.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: byte %d: %s", ErrCorrupt, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail("%s: truncated", what)
		return nil
	}
	p := d.b[:n]
	d.b, d.off = d.b[n:], d.off+n
	return p
}

func (d *decoder) uvarint(what string) uint64 { return readVarint(d, what, binary.Uvarint) }

func (d *decoder) varint(what string) int64 { return readVarint(d, what, binary.Varint) }

func readVarint[T int64 | uint64](d *decoder, what string, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.b)
	if n <= 0 {
		d.fail("%s: bad varint", what)
		return 0
	}
	d.take(n, what)
	return v
}

func (d *decoder) u64(what string) uint64 {
	if p := d.take(8, what); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// decodeSnapshot checks and decodes a whole snapshot.
func decodeSnapshot(data []byte) ([]savedCounter, error) {
	if len(data) < len(snapMagic)+2+4 || string(data[:len(snapMagic)]) != snapMagic {
		return nil, fmt.Errorf("%w: not a velocity snapshot", ErrCorrupt)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(data[len(body):]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	d := &decoder{b: body}
	d.take(len(snapMagic), "magic")
	if v := binary.LittleEndian.Uint16(d.take(2, "version")); v != snapVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrCorrupt, v, snapVersion)
	}
	n := d.uvarint("counter count")
	var out []savedCounter
	for i := uint64(0); i < n && d.err == nil; i++ {
		c := d.counter()
		for _, prev := range out {
			if prev.spec == c.spec {
				d.fail("counter %q appears twice", c.spec.Name)
			}
		}
		out = append(out, c)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the last counter", len(d.b))
	}
	return out, d.err
}

// counter decodes one counter and its keys.
func (d *decoder) counter() savedCounter {
	var c savedCounter
	if n := d.uvarint("name length"); n > maxNameLen {
		d.fail("name length %d", n)
	} else {
		c.spec.Name = string(d.take(int(n), "name"))
	}
	c.spec.Window = time.Duration(d.varint("window"))
	if p := d.take(1, "distinct flag"); p != nil {
		c.spec.Distinct = p[0] == 1
	}
	c.spec.Buckets = int(min(d.uvarint("buckets"), MaxBuckets+1))
	c.newest = d.varint("newest")
	// Store.Counter runs any spec once clamped, so a clamped one (even with
	// an empty name) must restore: check the ranges, not Validate.
	if c.spec.normalize() != c.spec {
		d.fail("invalid counter spec %+v", c.spec)
	}
	res := int64(c.spec.Window) / int64(max(c.spec.Buckets, 1))
	for d.err == nil {
		n := d.uvarint("key count")
		if n == 0 {
			break
		}
		// A key takes at least 11 bytes; a larger count is corrupt. Keys
		// need a newest time for their retention.
		if n > uint64(len(d.b))/11 || c.newest == noTime {
			d.fail("key count %d with newest %d", n, c.newest)
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			k := savedKey{key: d.u64("key")}
			if c.spec.Distinct {
				k.cells = d.distinctCells(c.newest)
			} else {
				k.cells = d.eventCells(res, c.newest)
			}
			c.keys = append(c.keys, k)
		}
	}
	return c
}

// cellCount reads a key's cell count.
func (d *decoder) cellCount() int {
	n := d.uvarint("cell count")
	if n == 0 || n > maxSnapCell || n > uint64(len(d.b)) {
		d.fail("cell count %d", n)
		return 0
	}
	return int(n)
}

// eventCells decodes the buckets of one key of an event counter.
func (d *decoder) eventCells(res, newest int64) []cell {
	n := d.cellCount()
	cells := make([]cell, 0, n)
	// Bucket indexes stay within what int64 nanoseconds can hold.
	lo, hi := math.MinInt64/res, newest/res
	idx := int64(0)
	for i := 0; i < n && d.err == nil; i++ {
		if i == 0 {
			idx = d.varint("bucket")
		} else if delta := d.uvarint("bucket delta"); delta == 0 || delta > uint64(hi-idx) {
			d.fail("bucket delta %d", delta)
		} else {
			idx += int64(delta)
		}
		v := d.uvarint("bucket count")
		if idx < lo || idx > hi || v == 0 {
			d.fail("bucket %d with %d events", idx, v)
		}
		cells = append(cells, cell{v: v, t: idx * res})
	}
	return cells
}

// distinctCells decodes the values of one key of a distinct counter.
func (d *decoder) distinctCells(newest int64) []cell {
	n := d.cellCount()
	cells := make([]cell, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		v := d.u64("value")
		age := d.uvarint("value age")
		if age > uint64(newest-math.MinInt64) {
			d.fail("value age %d", age)
		}
		cells = append(cells, cell{v: v, t: newest - int64(age)})
	}
	// Add relies on the newest value being last.
	for i := 0; i < len(cells)-1 && d.err == nil; i++ {
		if cells[i].t > cells[len(cells)-1].t {
			d.fail("values out of order")
		}
	}
	return cells
}
