package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Location is where an address is, as precise as the source allows.
type Location struct {
	// Country is the ISO 3166-1 alpha-2 code of the country where the
	// address is used (MaxMind "country", never "registered_country").
	Country string
	// Region is the first subdivision: DB-IP state1, or the English name of
	// MaxMind's first subdivision.
	Region string
	// City is the English city name; empty for a country-level record.
	City string
	// Lat and Lon are the coordinates in degrees.
	Lat, Lon float64
	// AccuracyKm is MaxMind's accuracy radius; 0 means unknown (DB-IP has
	// none).
	AccuracyKm float64
	// CountryOnly is true when the record has no city: its coordinates are a
	// country's centroid, which travel logic should ignore.
	CountryOnly bool
	// TimeZone is the IANA time zone the record names (MaxMind
	// location.time_zone, DB-IP timezone); empty when the source has none,
	// as DB-IP City Lite. ZoneAt estimates one from the place.
	TimeZone string
}

// CityOptions tunes OpenCityWith. The zero value is the default.
type CityOptions struct {
	// CacheSize is the number of decoded records kept per database file,
	// rounded up to a power of two. Zero means DefaultCacheSize. A negative
	// value turns the cache off, so every lookup decodes its record (about a
	// microsecond and a few allocations); that is only useful to measure the
	// cold path. More slots mean fewer re-decodes for more memory (about
	// 130 bytes per filled slot).
	CacheSize int
}

// CityDB answers where an address is. It is safe for concurrent use.
type CityDB struct {
	sources []citySource
	closed  atomic.Bool
	errs    atomic.Uint64
	info    string
}

// citySource is one opened database file.
type citySource struct {
	r      *maxminddb.Reader
	layout layout
	v4, v6 bool
	cache  *recordCache
}

// OpenCity opens one or more city databases with the default options. See
// OpenCityWith.
func OpenCity(paths ...string) (*CityDB, error) {
	return OpenCityWith(CityOptions{}, paths...)
}

// OpenCityWith opens one or more MMDB city databases: the DB-IP City Lite
// IPv4 and IPv6 files, or one MaxMind GeoIP2/GeoLite2 City file. The record
// layout of each file is detected from its metadata or its records. When
// several files answer the same family, they are asked in the order given.
//
// Each file is read into memory rather than memory-mapped. A memory map of a
// file that is then overwritten in place (as a careless `cp new.mmdb
// GeoLite2-City.mmdb` does) faults the process with SIGBUS on the next
// lookup of a truncated page; a private copy cannot be changed under the
// reader. It also lets Close run while other goroutines are still looking
// up, so a reloader can swap databases without waiting for in-flight
// lookups; the memory is released once the CityDB is no longer referenced.
// The DB-IP pair takes about 135 MB.
func OpenCityWith(o CityOptions, paths ...string) (*CityDB, error) {
	files := make([]File, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("open city database: %w", err)
		}
		files = append(files, File{Name: p, Data: data})
	}
	return OpenCityFiles(o, files...)
}

// File is a database file already read into memory; Name is used in errors.
// The reader keeps Data: the caller must not change it afterwards.
type File struct {
	Name string
	Data []byte
}

// OpenCityFiles is OpenCityWith for files already read, which is how
// feeds/refdata reloads a database that changed on disk.
func OpenCityFiles(o CityOptions, files ...File) (*CityDB, error) {
	if len(files) == 0 {
		return nil, errors.New("open city database: no file given")
	}
	size := o.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	c := &CityDB{}
	for _, f := range files {
		src, err := openCitySource(f.Data, size)
		if err != nil {
			return nil, fmt.Errorf("open city database %s: %w", f.Name, err)
		}
		c.sources = append(c.sources, src)
	}
	c.info = describe(c.sources)
	return c, nil
}

func openCitySource(data []byte, cacheSize int) (citySource, error) {
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		return citySource{}, err
	}
	l, err := detectLayout(r)
	if err != nil {
		return citySource{}, err
	}
	if l == layoutMaxMind {
		if err := checkGeoIP2City(data); err != nil {
			return citySource{}, err
		}
	}
	v4, v6 := l.families(r.Metadata)
	return citySource{r: r, layout: l, v4: v4, v6: v6, cache: newRecordCache(cacheSize)}, nil
}

// Verify reads every network and every record of the opened files, reports
// the first that does not decode, and returns the number of networks. A
// file overwritten in place while it was being read can open (its metadata
// is at the end) and still hold a torn search tree; the reloader calls
// Verify before it swaps such a file in. It takes about a second for the
// DB-IP IPv4 file (6.3 million networks, 425,000 records).
func (c *CityDB) Verify() (networks int, err error) {
	for i := range c.sources {
		s := &c.sources[i]
		seen := map[uintptr]struct{}{}
		for res := range s.r.Networks() {
			if err := res.Err(); err != nil {
				return networks, fmt.Errorf("verify city database: %w", err)
			}
			networks++
			if _, ok := seen[res.Offset()]; ok {
				continue
			}
			seen[res.Offset()] = struct{}{}
			if _, _, err := s.layout.decode(res); err != nil {
				return networks, fmt.Errorf("verify city database: network %s: %w",
					res.Prefix(), err)
			}
		}
	}
	return networks, nil
}

// Lookup returns where a is. It reports false when no database has a record
// with a location for a, when the CityDB is closed, or when a record cannot
// be decoded (counted in Errors). IPv4-mapped IPv6 addresses are looked up as
// IPv4.
func (c *CityDB) Lookup(a netip.Addr) (Location, bool) {
	a = a.Unmap()
	if !a.IsValid() || c.closed.Load() {
		return Location{}, false
	}
	is4 := a.Is4()
	for i := range c.sources {
		s := &c.sources[i]
		if is4 && !s.v4 || !is4 && !s.v6 {
			continue
		}
		res := s.r.Lookup(a)
		if !res.Found() {
			if res.Err() != nil {
				c.errs.Add(1)
			}
			continue
		}
		e := s.cache.get(res.Offset())
		if e == nil {
			e = c.decode(s, res)
		}
		if e.ok {
			return e.loc, true
		}
	}
	return Location{}, false
}

// decode is the cold path of Lookup: it decodes the record res points at and
// caches the result, a record without location and a broken record included,
// so that neither is decoded again for every address that shares it.
func (c *CityDB) decode(s *citySource, res maxminddb.Result) *cacheEntry {
	loc, ok, err := s.layout.decode(res)
	if err != nil {
		c.errs.Add(1)
	}
	e := &cacheEntry{offset: res.Offset(), loc: loc, ok: ok && err == nil}
	s.cache.put(e)
	return e
}

// Errors returns how many lookups met a database error (a corrupt tree or a
// record that does not decode) since the CityDB was opened. Such lookups
// report false; this count lets the caller tell them from plain misses.
func (c *CityDB) Errors() uint64 { return c.errs.Load() }

// Close marks the database closed: later lookups report false. It is safe to
// call while other goroutines look up, and it always returns nil; the memory
// is released when the CityDB is no longer referenced.
func (c *CityDB) Close() error {
	c.closed.Store(true)
	return nil
}

// Info describes the opened data for logs and health output, for example
// "dbip-city (ipv4+ipv6) built 2026-06-05". The date is the oldest build date
// of the files, since the oldest file bounds how fresh the answers are.
func (c *CityDB) Info() string { return c.info }

func describe(sources []citySource) string {
	var names []string
	var v4, v6 bool
	var oldest time.Time
	for i, s := range sources {
		name := s.layout.String()
		if s.layout == layoutMaxMind && s.r.Metadata.DatabaseType != "" {
			name = s.r.Metadata.DatabaseType
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		v4, v6 = v4 || s.v4, v6 || s.v6
		if bt := s.r.Metadata.BuildTime(); i == 0 || bt.Before(oldest) {
			oldest = bt
		}
	}
	var fams []string
	if v4 {
		fams = append(fams, "ipv4")
	}
	if v6 {
		fams = append(fams, "ipv6")
	}
	return fmt.Sprintf("%s (%s) built %s", strings.Join(names, "+"),
		strings.Join(fams, "+"), oldest.UTC().Format(time.DateOnly))
}

// families reports which address families the opened files answer.
func (c *CityDB) families() (v4, v6 bool) {
	for _, s := range c.sources {
		v4, v6 = v4 || s.v4, v6 || s.v6
	}
	return v4, v6
}
