package sim

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"net/netip"

	"github.com/cespare/xxhash/v2"
)

// Venue is a place where many people share one public address: an office
// behind its firewall, a hotel or an airport Wi-Fi.
type Venue struct {
	Kind string // VenueOffice or VenueHotel
	City *City
	Addr netip.Addr
}

// Venue kinds.
const (
	VenueOffice = "office"
	VenueHotel  = "hotel"
)

// Shapes of the shared places.
const (
	officeRate    = 0.2  // users who work in an office with a shared address
	officeSize    = 25   // mean number of users per office
	hotelsPerCity = 4    // hotel and airport networks per city
	hotelHosting  = 0.25 // venues whose Wi-Fi leaves through a hosting network
	natPool       = 6    // public addresses a mobile carrier's NAT uses per network
)

// venues are the shared places of a run, drawn from the world before the
// users so that every user sees the same ones.
type venues struct {
	offices map[*City][]*Venue
	hotels  map[*City][]*Venue
}

// newVenues draws the offices and hotels of every city. A city gets one
// office per officeSize office workers it is expected to have.
func newVenues(r *rand.Rand, w *World, users int) *venues {
	v := &venues{offices: map[*City][]*Venue{}, hotels: map[*City][]*Venue{}}
	total := 0
	for _, c := range w.Cities {
		total += c.weight
	}
	for _, c := range w.Cities {
		expected := float64(users) * float64(c.weight) / float64(max(total, 1)) * officeRate
		for range max(1, int(math.Round(expected/officeSize))) {
			v.offices[c] = append(v.offices[c], &Venue{Kind: VenueOffice, City: c,
				Addr: c.addr(r, 0, false)})
		}
		for range hotelsPerCity {
			a := c.addr(r, 0, false)
			if len(c.Hosting) > 0 && chance(r, hotelHosting) {
				a = randomAddr(r, pick(r, c.Hosting).Prefix)
			}
			v.hotels[c] = append(v.hotels[c], &Venue{Kind: VenueHotel, City: c, Addr: a})
		}
	}
	return v
}

// natAddr returns one of the few public addresses behind which a mobile
// carrier (operator asn) hides its subscribers in c: carrier-grade NAT
// makes many phones share each. The pool lies in the carrier's first
// network of the city.
func (c *City) natAddr(r *rand.Rand, asn uint32) netip.Addr {
	nets := c.networks(asn, false)
	if len(nets) == 0 {
		return c.addr(r, asn, false)
	}
	return poolAddr(r, nets[0].Prefix, natPool)
}

// anonNets are the networks a VPN app in c leaves through: the VPN
// providers' when the world knows any there, else the hosting ones.
func (c *City) anonNets() []Network {
	if len(c.VPN) > 0 {
		return c.VPN
	}
	return c.Hosting
}

// vpnAddr returns an exit address of a VPN server in c, which c must have
// (see anonNets). A VPN server has few addresses and many customers.
func (c *City) vpnAddr(r *rand.Rand) netip.Addr {
	return poolAddr(r, pick(r, c.anonNets()).Prefix, natPool)
}

// poolAddr returns one of n fixed addresses of the IPv4 network p, chosen
// at random: the pool depends on p only, so everyone drawing from p shares
// it.
func poolAddr(r *rand.Rand, p netip.Prefix, n int) netip.Addr {
	p = p.Masked()
	b := p.Addr().As4()
	size := uint64(1) << (32 - p.Bits())
	var key [6]byte
	copy(key[:4], b[:])
	key[4], key[5] = byte(p.Bits()), byte(r.IntN(n))
	off := uint64(0)
	if size > 2 {
		off = xxhash.Sum64(key[:])%(size-2) + 1
	}
	binary.BigEndian.PutUint32(b[:], binary.BigEndian.Uint32(b[:])+uint32(off))
	return netip.AddrFrom4(b)
}
