package profile

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// The flush writes thousands of profiles and lessons a second under load;
// encoding/json spends most of its time there on reflection. These
// appenders write the same bytes as json.Marshal (a test holds them equal)
// several times faster and without allocating. Decoding stays with
// encoding/json: it runs only when a profile is read from disk.

// appendJSON appends p as json.Marshal writes it; ok is false for a value
// JSON cannot hold (a NaN coordinate), which json.Marshal refuses too.
func (p *Profile) appendJSON(b []byte) (_ []byte, ok bool) {
	b = append(b, `{"key":`...)
	b = appendString(b, p.Key)
	b = appendInt(b, `,"first_seen":`, p.FirstSeen)
	b = appendInt(b, `,"last_seen":`, p.LastSeen)
	if p.CreatedAt != 0 {
		b = appendInt(b, `,"created_at":`, p.CreatedAt)
	}
	b = appendInt(b, `,"logins":`, int64(p.Logins))
	for _, l := range []struct {
		name string
		list []Seen
	}{{`,"devices":`, p.Devices}, {`,"countries":`, p.Countries}, {`,"asns":`, p.ASNs},
		{`,"networks":`, p.Networks}, {`,"ips":`, p.IPs}, {`,"user_agents":`, p.Agents},
		{`,"browsers":`, p.Browsers}, {`,"oses":`, p.OSes}, {`,"device_types":`, p.DeviceTypes}} {
		if len(l.list) > 0 {
			b = appendSeen(append(b, l.name...), l.list)
		}
	}
	ok = true
	if p.Last != nil {
		b, ok = p.Last.appendJSON(append(b, `,"last":`...))
	}
	b = append(b, `,"hour_of_week":[`...)
	for i, n := range p.HourOfWeek {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(n), 10)
	}
	b = append(b, ']')
	if p.RiskUntil != 0 {
		b = appendInt(b, `,"risk_until":`, p.RiskUntil)
	}
	if len(p.Lessons) > 0 {
		b = append(b, `,"lessons":[`...)
		for i, k := range p.Lessons {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
		}
		b = append(b, ']')
	}
	if len(p.Aliases) > 0 {
		b = append(b, `,"aliases":[`...)
		for i, h := range p.Aliases {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(strconv.AppendUint(append(b, '"'), h, 10), '"')
		}
		b = append(b, ']')
	}
	return append(b, '}'), ok
}

func appendSeen(b []byte, list []Seen) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"value":`...)
		b = appendString(b, s.Value)
		b = appendInt(b, `,"first":`, s.First)
		b = appendInt(b, `,"last":`, s.Last)
		b = appendInt(b, `,"count":`, int64(s.Count))
		if s.Trusted {
			b = append(b, `,"trusted":true`...)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func (p *Place) appendJSON(b []byte) (_ []byte, ok bool) {
	b = appendInt(b, `{"at":`, p.At)
	var okLat, okLon, okAcc bool
	b, okLat = appendFloat(append(b, `,"lat":`...), p.Lat)
	b, okLon = appendFloat(append(b, `,"lon":`...), p.Lon)
	okAcc = true
	if p.AccuracyKm != 0 {
		b, okAcc = appendFloat(append(b, `,"accuracy_km":`...), p.AccuracyKm)
	}
	if p.Country != "" {
		b = appendString(append(b, `,"country":`...), p.Country)
	}
	if p.ASN != 0 {
		b = appendInt(b, `,"asn":`, int64(p.ASN))
	}
	if p.Network != "" {
		b = appendString(append(b, `,"network":`...), p.Network)
	}
	if p.IPVersion != 0 {
		b = appendInt(b, `,"ip_version":`, int64(p.IPVersion))
	}
	b = appendFlag(b, `,"country_only":true`, p.CountryOnly)
	b = appendFlag(b, `,"anonymous":true`, p.Anonymous)
	b = append(b, `,"has_geo":`...)
	b = strconv.AppendBool(b, p.HasGeo)
	return append(b, '}'), okLat && okLon && okAcc
}

// appendJSON appends l as json.Marshal writes it; ok is false for a value
// it leaves to encoding/json (an unusual time) or that JSON cannot hold (a
// NaN coordinate).
func (l *Lesson) appendJSON(b []byte) (_ []byte, ok bool) {
	b = append(b, `{"user":`...)
	b = appendString(b, l.User)
	b = append(b, `,"taught":`...)
	b = strconv.AppendBool(b, l.Taught)
	b, ok = l.Obs.appendJSON(append(b, `,"observation":`...))
	if l.Prev != nil {
		var okPrev bool
		b, okPrev = l.Prev.appendJSON(append(b, `,"prev":`...))
		ok = ok && okPrev
	}
	if l.Label != "" {
		b = appendString(append(b, `,"label":`...), l.Label)
	}
	return append(b, '}'), ok
}

func (o *Observation) appendJSON(b []byte) (_ []byte, ok bool) {
	// time.Time's MarshalJSON refuses these; the caller falls back to it.
	_, off := o.At.Zone()
	if y := o.At.Year(); y < 0 || y > 9999 || off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		return b, false
	}
	b = append(b, `{"at":"`...)
	b = append(o.At.AppendFormat(b, time.RFC3339Nano), '"')
	for _, f := range []struct{ name, value string }{{`,"device":`, o.Device},
		{`,"country":`, o.Country}, {`,"asn":`, o.ASN}, {`,"network":`, o.Network},
		{`,"ip":`, o.IP}, {`,"user_agent":`, o.Agent}, {`,"browser":`, o.Browser},
		{`,"os":`, o.OS}, {`,"device_type":`, o.DeviceType}} {
		if f.value != "" {
			b = appendString(append(b, f.name...), f.value)
		}
	}
	b, ok = o.Place.appendJSON(append(b, `,"place":`...))
	b = appendFlag(b, `,"trusted":true`, o.Trusted)
	return append(b, '}'), ok
}

func appendInt(b []byte, name string, v int64) []byte {
	return strconv.AppendInt(append(b, name...), v, 10)
}

func appendFlag(b []byte, field string, set bool) []byte {
	if set {
		b = append(b, field...)
	}
	return b
}

// appendFloat writes f as encoding/json does. Coordinates and distances fall
// in the plain decimal range; others (exponent form) go through
// encoding/json itself. ok is false for NaN and infinities.
func appendFloat(b []byte, f float64) (_ []byte, ok bool) {
	if a := math.Abs(f); a == 0 || a >= 1e-6 && a < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64), true
	}
	v, err := json.Marshal(f)
	return append(b, v...), err == nil
}

// appendString writes s as a JSON string as encoding/json does. Values are
// almost always printable ASCII without the characters encoding/json escapes
// (" \ < > &), and keys hold one NUL (between tenant and id): those are
// written here, anything else is escaped by encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != 0 || c >= 0x80 || c == '"' || c == '\\' || c == '<' ||
			c == '>' || c == '&' {
			v, _ := json.Marshal(s) // a string always encodes
			return append(b, v...)
		}
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			break
		}
		b = append(append(b, s[:i]...), `\u0000`...)
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}
