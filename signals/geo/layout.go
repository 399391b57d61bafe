package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// layout is the shape of the records in a city database.
type layout uint8

const (
	// layoutDBIP is the flat ip-location-db record: country_code, state1,
	// state2, city, postcode, latitude, longitude, timezone.
	layoutDBIP layout = iota + 1
	// layoutMaxMind is the nested GeoIP2/GeoLite2 City record.
	layoutMaxMind
)

func (l layout) String() string {
	if l == layoutDBIP {
		return "dbip-city"
	}
	return "maxmind-city"
}

// dbipRecord holds the fields of a flat DB-IP record that Location needs.
type dbipRecord struct {
	CountryCode string `maxminddb:"country_code"`
	State1      string `maxminddb:"state1"`
	City        string `maxminddb:"city"`
	Latitude    coord  `maxminddb:"latitude"`
	Longitude   coord  `maxminddb:"longitude"`
	Timezone    string `maxminddb:"timezone"`
}

// TODO: check the MaxMind layout against a real GeoLite2-City file; only geotest-built files were used.

// checkGeoIP2City asks geoip2-golang whether a MaxMind-layout file is one it
// can answer City lookups from: a GeoIP2/GeoLite2 City, Country or
// Enterprise file, or a DB-IP file in MaxMind's layout. A database type it
// does not know (an in-house file written in the City layout) is accepted on
// the evidence of its records, which detectLayout has already seen.
func checkGeoIP2City(data []byte) error {
	r, err := geoip2.OpenBytes(data)
	if _, unknown := errors.AsType[geoip2.UnknownDatabaseTypeError](err); unknown {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := r.City(netip.IPv4Unspecified()); err != nil {
		if _, wrong := errors.AsType[geoip2.InvalidMethodError](err); wrong {
			return fmt.Errorf("database type %q: %w", r.Metadata().DatabaseType, errNotCity)
		}
	}
	return nil
}

// decode reads the record res points at. ok is false when the record holds
// neither a country, a city nor coordinates.
func (l layout) decode(res maxminddb.Result) (loc Location, ok bool, err error) {
	switch l {
	case layoutDBIP:
		var r dbipRecord
		if err := res.Decode(&r); err != nil {
			return Location{}, false, err
		}
		loc = Location{
			Country: r.CountryCode, Region: r.State1, City: r.City,
			Lat: float64(r.Latitude), Lon: float64(r.Longitude), TimeZone: r.Timezone,
		}
	case layoutMaxMind:
		// geoip2-golang's record model and generated decoder. Only
		// Country is read, never RegisteredCountry: the country where
		// the address is used, not where its block was registered.
		var r geoip2.City
		if err := res.Decode(&r); err != nil {
			return Location{}, false, err
		}
		loc = Location{
			Country:    r.Country.ISOCode,
			City:       r.City.Names.English,
			AccuracyKm: float64(r.Location.AccuracyRadius),
			TimeZone:   r.Location.TimeZone,
		}
		if len(r.Subdivisions) > 0 {
			loc.Region = r.Subdivisions[0].Names.English
		}
		if r.Location.HasCoordinates() {
			loc.Lat, loc.Lon = *r.Location.Latitude, *r.Location.Longitude
		}
	default:
		return Location{}, false, fmt.Errorf("unknown record layout %d", l)
	}
	if loc.Country == "" && loc.City == "" && loc.Lat == 0 && loc.Lon == 0 {
		return Location{}, false, nil
	}
	loc.CountryOnly = loc.City == ""
	return loc, true, nil
}

// coord is a latitude or longitude. DB-IP stores them as float32; widening
// 37.422f to float64 would give 37.42200088500977, so a float32 is widened
// through its shortest decimal form instead, which keeps what the source
// wrote. A float64 (MaxMind) is taken as is.
type coord float64

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler.
func (c *coord) UnmarshalMaxMindDBCursor(cur mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	kind, err := cur.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	if kind != mmdbdata.KindFloat32 {
		v, next, err := cur.ReadFloat()
		if err != nil {
			return mmdbdata.Cursor{}, mmdbdata.NormalizeUnmarshalError[coord](err)
		}
		*c = coord(v)
		return next, nil
	}
	f, next, err := cur.ReadFloat32()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	v, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil {
		return mmdbdata.Cursor{}, fmt.Errorf("coordinate %v: %w", f, err)
	}
	*c = coord(v)
	return next, nil
}

// errNotCity marks a database whose records are not city records.
var errNotCity = errors.New("not a city database")

// detectLayout tells the record layout of r from its metadata, and from the
// shape of its first record when the metadata does not say.
func detectLayout(r *maxminddb.Reader) (layout, error) {
	dt := r.Metadata.DatabaseType
	switch {
	case strings.HasPrefix(dt, "city ipv"):
		return layoutDBIP, nil
	case strings.Contains(dt, "ASN"), strings.Contains(dt, "Anonymous"),
		strings.Contains(dt, "Connection-Type"), strings.Contains(dt, "ISP"):
		return 0, fmt.Errorf("database type %q: %w", dt, errNotCity)
	case strings.Contains(dt, "City"), strings.Contains(dt, "Enterprise"):
		return layoutMaxMind, nil
	}
	for res := range r.Networks() {
		var rec map[string]any
		if err := res.Decode(&rec); err != nil {
			return 0, fmt.Errorf("read first record: %w", err)
		}
		switch {
		case rec["country_code"] != nil:
			return layoutDBIP, nil
		case rec["country"] != nil || rec["location"] != nil || rec["city"] != nil:
			return layoutMaxMind, nil
		}
		return 0, fmt.Errorf("database type %q, first record of %s has no country, city "+
			"or location: %w", dt, res.Prefix(), errNotCity)
	}
	return 0, fmt.Errorf("database type %q holds no records: %w", dt, errNotCity)
}

// families reports which address families a database of layout l answers.
// The DB-IP files are split by family even though the IPv6 file has an IPv6
// tree; a MaxMind IPv6 tree also answers IPv4.
func (l layout) families(md maxminddb.Metadata) (v4, v6 bool) {
	if l == layoutDBIP {
		switch md.DatabaseType {
		case "city ipv4":
			return true, false
		case "city ipv6":
			return false, true
		}
	}
	return true, md.IPVersion == 6
}
