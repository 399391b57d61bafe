package geo

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"
	"go4.org/netipx"
)

// OpenASNCSV loads ip-location-db ASN CSV files: one range a line as
// start,end,asn,org, with inclusive ranges, the organisation quoted when it
// holds a comma or a quote, and no header. The IPv4 and IPv6 files may be
// given in any order, and so may the ranges. Where a range runs into the next
// one, the next one keeps the shared addresses (see Info); a range nested in
// or starting with another is an error. Any line that does not parse is an
// error naming file:line. The real files (about 515,000 ranges) load in about
// half a second.
func OpenASNCSV(paths ...string) (*ASNDB, error) {
	if len(paths) == 0 {
		return nil, errors.New("open asn csv: no file given")
	}
	b := newASNBuilder(paths)
	for i, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("open asn csv: %w", err)
		}
		var size int64
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		err = b.readCSV(i, p, f, size)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return b.build("asn-csv")
}

// OpenASNFiles opens ASN data already read into memory: ip-location-db CSV
// files, or one MaxMind GeoLite2-ASN file, told apart by the MMDB metadata
// marker. feeds/refdata reloads changed files through it.
func OpenASNFiles(files ...File) (*ASNDB, error) {
	if len(files) == 0 {
		return nil, errors.New("open asn data: no file given")
	}
	if len(files) == 1 && isMMDB(files[0].Data) {
		return OpenASNMMDBData(files[0].Name, files[0].Data)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	b := newASNBuilder(names)
	for i, f := range files {
		if isMMDB(f.Data) {
			return nil, fmt.Errorf("open asn data %s: an MMDB file must be the only ASN source", f.Name)
		}
		if err := b.readCSV(i, f.Name, bytes.NewReader(f.Data), int64(len(f.Data))); err != nil {
			return nil, err
		}
	}
	return b.build("asn-csv")
}

// mmdbMarker starts the metadata section at the end of every MMDB file.
var mmdbMarker = []byte("\xab\xcd\xefMaxMind.com")

func isMMDB(data []byte) bool {
	tail := data[max(0, len(data)-128*1024):]
	return bytes.Contains(tail, mmdbMarker)
}

func (b *asnBuilder) readCSV(file int, path string, in io.Reader, size int64) error {
	// The real files average 58 (IPv4) and 85 (IPv6) bytes a line.
	b.hint = int(size / 56)
	r := csv.NewReader(in)
	r.FieldsPerRecord = 4
	r.ReuseRecord = true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			return fmt.Errorf("%s:%d: %w", path, pe.StartLine, pe.Err)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if err := b.addCSVRecord(rec, pos{uint32(file), uint32(line)}); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
}

func (b *asnBuilder) addCSVRecord(rec []string, at pos) error {
	start, err := netip.ParseAddr(rec[0])
	if err != nil {
		return fmt.Errorf("range start: %w", err)
	}
	end, err := netip.ParseAddr(rec[1])
	if err != nil {
		return fmt.Errorf("range end: %w", err)
	}
	asn, err := strconv.ParseUint(rec[2], 10, 32)
	if err != nil {
		return fmt.Errorf("asn %q: not a number from 0 to 4294967295", rec[2])
	}
	return b.add(start, end, uint32(asn), rec[3], at)
}

// OpenASNMMDB loads a MaxMind GeoLite2-ASN (or GeoIP2-ASN) database into the
// same sorted ranges as OpenASNCSV, so lookups cost the same whichever source
// is used. Neighbouring networks of the same system are merged. A record
// without autonomous_system_number is an error naming its network. The file
// is read whole, never memory-mapped (see OpenCityWith).
func OpenASNMMDB(path string) (*ASNDB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open asn database: %w", err)
	}
	return OpenASNMMDBData(path, data)
}

// OpenASNMMDBData is OpenASNMMDB for a file already read; name is for errors.
// geoip2-golang checks that a database type it knows answers ASN lookups
// (GeoLite2-ASN, GeoIP2-ISP, DB-IP's ASN file in MaxMind's layout), and its
// ASN record model decodes the records. A type it does not know is judged by
// its records.
func OpenASNMMDBData(name string, data []byte) (*ASNDB, error) {
	g, err := geoip2.OpenBytes(data)
	if err == nil {
		_, err = g.ASN(netip.IPv4Unspecified())
	}
	if _, unknown := errors.AsType[geoip2.UnknownDatabaseTypeError](err); unknown {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("open asn database %s: %w", name, err)
	}
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		return nil, fmt.Errorf("open asn database %s: %w", name, err)
	}
	b := newASNBuilder([]string{name})
	if err := b.readMMDB(r); err != nil {
		return nil, fmt.Errorf("open asn database %s: %w", name, err)
	}
	return b.build(r.Metadata.DatabaseType)
}

// TODO: check OpenASNMMDB against a real GeoLite2-ASN file; only geotest-built ones were used.

func (b *asnBuilder) readMMDB(r *maxminddb.Reader) error {
	type decoded struct{ asn, org uint32 }
	seen := map[uintptr]decoded{} // many networks share one record
	for res := range r.Networks() {
		if err := res.Err(); err != nil {
			return err
		}
		d, ok := seen[res.Offset()]
		if !ok {
			var rec geoip2.ASN
			if err := res.Decode(&rec); err != nil {
				return fmt.Errorf("network %s: %w", res.Prefix(), err)
			}
			if rec.AutonomousSystemNumber == 0 && rec.AutonomousSystemOrganization == "" {
				return fmt.Errorf("network %s: record has no autonomous_system_number",
					res.Prefix())
			}
			d = decoded{uint32(rec.AutonomousSystemNumber), b.intern(rec.AutonomousSystemOrganization)}
			seen[res.Offset()] = d
		}
		p := res.Prefix().Masked()
		if !b.extend(p, d.asn, d.org) {
			b.push(p.Addr().Is4(), pending{start: keyV6(p.Addr()),
				end: keyV6(netipx.PrefixLastIP(p)), asn: d.asn, org: d.org})
		}
	}
	return nil
}

// pos is where a range came from: an index into the builder's files and a
// line (0 for MMDB networks).
type pos struct{ file, line uint32 }

// pending is a range being loaded. Both families are keyed as IPv6 (IPv4 as
// ::ffff:a.b.c.d) and the struct holds no pointers, so half a million of them
// cost the garbage collector nothing to scan.
type pending struct {
	start, end u128
	asn, org   uint32
	at         pos
}

func (k u128) addr() netip.Addr {
	return netip.AddrFrom16(u128Bytes(k)).Unmap()
}

// minusOne returns k-1; k must not be zero.
func (k u128) minusOne() u128 {
	if k.lo == 0 {
		return u128{k.hi - 1, ^uint64(0)}
	}
	return u128{k.hi, k.lo - 1}
}

func u128Bytes(k u128) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	return b
}

// asnBuilder collects ranges from one or more files, then checks and packs
// them into an ASNDB.
type asnBuilder struct {
	files   []string
	v4, v6  []pending
	orgIdx  map[string]uint32
	orgs    []string
	lastOrg uint32 // index of the last name interned: neighbouring lines often share it
	hint    int    // expected ranges in the file being read, until the first push
}

func newASNBuilder(files []string) *asnBuilder {
	return &asnBuilder{files: files, orgIdx: map[string]uint32{}}
}

// intern returns the index of org, storing a private copy the first time so
// that no name keeps a whole parsed line alive.
func (b *asnBuilder) intern(org string) uint32 {
	if len(b.orgs) > 0 && b.orgs[b.lastOrg] == org {
		return b.lastOrg
	}
	i, ok := b.orgIdx[org]
	if !ok {
		org = strings.Clone(org)
		i = uint32(len(b.orgs))
		b.orgs = append(b.orgs, org)
		b.orgIdx[org] = i
	}
	b.lastOrg = i
	return i
}

func (b *asnBuilder) add(start, end netip.Addr, asn uint32, org string, at pos) error {
	start, end = start.Unmap(), end.Unmap()
	if start.Is4() != end.Is4() {
		return fmt.Errorf("range %s-%s mixes IPv4 and IPv6", start, end)
	}
	if start.Zone() != "" || end.Zone() != "" {
		return fmt.Errorf("range %s-%s: an address has a zone", start, end)
	}
	if end.Less(start) {
		return fmt.Errorf("range %s-%s ends before it starts", start, end)
	}
	b.push(start.Is4(), pending{start: keyV6(start), end: keyV6(end), asn: asn,
		org: b.intern(org), at: at})
	return nil
}

func (b *asnBuilder) push(is4 bool, p pending) {
	list := &b.v6
	if is4 {
		list = &b.v4
	}
	if b.hint > 0 {
		// Reserve room for the whole file once its family is known, so
		// that append does not copy half a million ranges again and again.
		*list = slices.Grow(*list, b.hint)
		b.hint = 0
	}
	*list = append(*list, p)
}

// extend grows the last range of p's family over p when p directly follows
// it with the same system, and reports whether it did.
func (b *asnBuilder) extend(p netip.Prefix, asn, org uint32) bool {
	list := &b.v6
	if p.Addr().Is4() {
		list = &b.v4
	}
	n := len(*list)
	if n == 0 {
		return false
	}
	last := &(*list)[n-1]
	if last.asn != asn || last.org != org || last.end.addr().Next() != p.Addr() {
		return false
	}
	last.end = keyV6(netipx.PrefixLastIP(p))
	return true
}

func (b *asnBuilder) build(kind string) (*ASNDB, error) {
	t4, err := b.sortAndCheck(b.v4)
	if err != nil {
		return nil, err
	}
	t6, err := b.sortAndCheck(b.v6)
	if err != nil {
		return nil, err
	}
	d := &ASNDB{orgs: slices.Clip(b.orgs), trimmed: t4 + t6}
	d.v4.starts = make([]uint32, len(b.v4))
	d.v4.infos = make([]rangeInfo[uint32], len(b.v4))
	for i, p := range b.v4 {
		d.v4.starts[i] = uint32(p.start.lo)
		d.v4.infos[i] = rangeInfo[uint32]{end: uint32(p.end.lo), asn: p.asn, org: p.org}
	}
	d.v6.starts = make([]u128, len(b.v6))
	d.v6.infos = make([]rangeInfo[u128], len(b.v6))
	for i, p := range b.v6 {
		d.v6.starts[i] = p.start
		d.v6.infos[i] = rangeInfo[u128]{end: p.end, asn: p.asn, org: p.org}
	}
	d.describe(kind)
	return d, nil
}

// sortAndCheck orders ranges by start (the real files already are, so this
// is a check) and settles overlaps. The published ip-location-db data has a
// few ranges whose end runs into the next range (one in the 2026-06 IPv4
// file), so a partial overlap is resolved for the later-starting range, which
// is the narrower claim on the shared addresses, and counted in trimmed. A
// range that starts where another starts, or lies wholly inside another, has
// no such reading and is an error naming both sources.
func (b *asnBuilder) sortAndCheck(rs []pending) (trimmed int, err error) {
	byStart := func(x, y pending) int { return x.start.compare(y.start) }
	if !slices.IsSortedFunc(rs, byStart) {
		slices.SortStableFunc(rs, byStart)
	}
	for i := 1; i < len(rs); i++ {
		prev, cur := &rs[i-1], rs[i]
		if prev.end.less(cur.start) {
			continue
		}
		if prev.start == cur.start || !prev.end.less(cur.end) {
			return trimmed, fmt.Errorf("%s: range %s-%s overlaps range %s-%s of %s",
				b.where(cur.at), cur.start.addr(), cur.end.addr(),
				prev.start.addr(), prev.end.addr(), b.where(prev.at))
		}
		prev.end = cur.start.minusOne()
		trimmed++
	}
	return trimmed, nil
}

func (b *asnBuilder) where(at pos) string {
	if at.line == 0 {
		return b.files[at.file]
	}
	return fmt.Sprintf("%s:%d", b.files[at.file], at.line)
}
