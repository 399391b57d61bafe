package profile

import (
	"math"

	"github.com/verdictrisk/verdict/signals"
)

// TravelOptions set what counts as impossible travel.
type TravelOptions struct {
	// MaxKmh is the fastest plausible travel speed. Default 1000 km/h,
	// about an airliner's cruise speed.
	MaxKmh float64
	// MinKm is the distance, after both accuracy radii are taken off, below
	// which a hop is never impossible: city-level IP geolocation is often
	// wrong by a few hundred kilometres. Default 300 km.
	MinKm float64
}

// DefaultTravel are the travel defaults.
var DefaultTravel = TravelOptions{MaxKmh: 1000, MinKm: 300}

const earthRadiusKm = 6371.0

// Travel compares the place of this login with the last successful one.
// Nothing is reported when either place is unknown or only a country
// centroid, nor for an event older than the last login (a late report):
// the user was not travelling from the later login to the earlier one,
// and without the logins in between the hop says nothing. A hop through a hosting, VPN or Tor network is reported as
// anonymous rather than as travel. A hop between a user's IPv4 and IPv6
// addresses inside one country is not travel: the two families of a dual
// stack line are often placed in different cities.
func Travel(prev *Place, cur Place, opts TravelOptions) signals.Travel {
	var t signals.Travel
	if prev == nil || !prev.HasGeo || !cur.HasGeo || prev.CountryOnly || cur.CountryOnly ||
		cur.At < prev.At {
		return t
	}
	t.Km = HaversineKm(prev.Lat, prev.Lon, cur.Lat, cur.Lon)
	t.Hours = float64(cur.At-prev.At) / 3600
	if prev.Anonymous || cur.Anonymous {
		t.Anonymous = true
		return t
	}
	if prev.IPVersion != cur.IPVersion && prev.Country == cur.Country {
		return t
	}
	km := math.Max(t.Km-prev.AccuracyKm-cur.AccuracyKm, 0)
	// Two logins in the same minute still take some time to travel between.
	t.Kmh = km / math.Max(t.Hours, 1.0/60)
	t.Impossible = km >= opts.MinKm && t.Kmh > opts.MaxKmh
	return t
}

// HaversineKm is the great-circle distance between two points.
func HaversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}
