package geo

import (
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // device time zones are judged the same on every machine
)

// zoneTab is the time zone database's zone.tab (public domain, from the tz
// project through Debian's tzdata package; see docs/data.md): one line per
// country and zone, with the coordinates of the zone's principal city.
//
//go:embed zone.tab
var zoneTab string

// zone is one line of zone.tab.
type zone struct {
	name     string
	lat, lon float64
}

// zonesByCountry maps an ISO country code to its zones, parsed once.
var zonesByCountry = sync.OnceValue(func() map[string][]zone {
	m, err := parseZoneTab(zoneTab)
	if err != nil {
		panic("geo: embedded zone.tab: " + err.Error()) // a build defect, caught by tests
	}
	return m
})

func parseZoneTab(text string) (map[string][]zone, error) {
	m := map[string][]zone{}
	for i, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: %d fields, want at least 3", i+1, len(f))
		}
		lat, lon, err := parseISO6709(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		m[f[0]] = append(m[f[0]], zone{name: f[2], lat: lat, lon: lon})
	}
	return m, nil
}

// parseISO6709 reads zone.tab's coordinates: ±DDMM±DDDMM or
// ±DDMMSS±DDDMMSS.
func parseISO6709(s string) (lat, lon float64, err error) {
	i := strings.IndexAny(s[1:], "+-") + 1
	if i <= 0 || (s[0] != '+' && s[0] != '-') {
		return 0, 0, fmt.Errorf("coordinates %q: want ±DDMM±DDDMM", s)
	}
	if lat, err = parseDMS(s[:i], 2); err != nil {
		return 0, 0, err
	}
	if lon, err = parseDMS(s[i:], 3); err != nil {
		return 0, 0, err
	}
	return lat, lon, nil
}

// parseDMS reads a signed degrees-minutes[-seconds] number whose degrees
// take deg digits.
func parseDMS(s string, deg int) (float64, error) {
	digits := s[1:]
	if len(digits) != deg+2 && len(digits) != deg+4 {
		return 0, fmt.Errorf("coordinate %q: want %d or %d digits", s, deg+2, deg+4)
	}
	var parts [3]float64
	for k, from := 0, 0; from < len(digits); k++ {
		to := from + 2
		if k == 0 {
			to = deg
		}
		n, err := strconv.Atoi(digits[from:to])
		if err != nil {
			return 0, fmt.Errorf("coordinate %q: %w", s, err)
		}
		parts[k], from = float64(n), to
	}
	v := parts[0] + parts[1]/60 + parts[2]/3600
	if s[0] == '-' {
		v = -v
	}
	return v, nil
}

// ZoneAt returns the IANA time zone most likely in use at a place in
// country: the country's only zone, else the zone whose principal city is
// nearest to (lat, lon). It returns "" for a country zone.tab does not
// know, and for a country-level place (countryOnly) in a country of several
// zones, whose centroid says nothing about which one.
func ZoneAt(country string, lat, lon float64, countryOnly bool) string {
	zs := zonesByCountry()[country]
	switch {
	case len(zs) == 0:
		return ""
	case len(zs) == 1:
		return zs[0].name
	case countryOnly:
		return ""
	}
	best, bestD := "", math.Inf(1)
	k := math.Cos(lat * math.Pi / 180)
	for _, z := range zs {
		dLat, dLon := z.lat-lat, (z.lon-lon)*k
		if d := dLat*dLat + dLon*dLon; d < bestD {
			best, bestD = z.name, d
		}
	}
	return best
}

// OffsetGap returns how many hours apart the clocks of time zones a and b
// are at t (0 to 26, always positive), and false when either is not a
// known IANA zone name. Zones are loaded once and cached.
func OffsetGap(a, b string, t time.Time) (float64, bool) {
	if a == b {
		return 0, zoneKnown(a)
	}
	la, lb := location(a), location(b)
	if la == nil || lb == nil {
		return 0, false
	}
	_, oa := t.In(la).Zone()
	_, ob := t.In(lb).Zone()
	return math.Abs(float64(oa-ob)) / 3600, true
}

func zoneKnown(name string) bool { return location(name) != nil }

// Loaded zones by name; unknown names are remembered too (as nil) so that a
// client sending garbage does not cost a load per event, up to
// maxUnknownZones of them.
var (
	zoneCache     sync.Map // string -> *time.Location (nil for unknown)
	unknownZones  int
	unknownZoneMu sync.Mutex
)

const (
	maxUnknownZones = 4096
	maxZoneName     = 64 // the longest IANA name is about 30 bytes
)

func location(name string) *time.Location {
	if v, ok := zoneCache.Load(name); ok {
		return v.(*time.Location)
	}
	if name == "" || len(name) > maxZoneName || strings.EqualFold(name, "local") {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
		unknownZoneMu.Lock()
		defer unknownZoneMu.Unlock()
		if unknownZones >= maxUnknownZones {
			return nil
		}
		unknownZones++
	}
	zoneCache.Store(strings.Clone(name), loc)
	return loc
}
