package sim

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/engine"
)

// Behaviour of the legitimate population. They are fixed; they move into
// Config when an evaluation needs to vary them. docs/evaluation.md explains
// each.
const (
	medianLogins    = 6     // successful logins of a user active the whole window
	loginSigma      = 1.2   // spread of the log-normal login count (its heavy tail)
	maxLogins       = 400   // no one logs in more often than this
	mistypeRate     = 0.07  // logins preceded by a wrong password
	wrongEmailRate  = 0.01  // logins preceded by a failure on a mistyped address
	cookieResetRate = 0.015 // logins after which the browser lost its device cookie
	cookielessRate  = 0.04  // browsers that keep no device cookie at all
	noScriptRate    = 0.01  // clients that report no device facts (scripts blocked, an old app)
	travelRate      = 0.05  // active users who travel abroad during the window
	domesticRate    = 0.08  // active users who visit another city of their country
	homeChurnRate   = 0.03  // logins on which the home address has changed
	mobileDataRate  = 0.4   // phone logins over the mobile carrier, not home Wi-Fi
	ipv6Rate        = 0.6   // logins over IPv6 from a dual-stack home
	vpnUserRate     = 0.05  // users who browse through a commercial VPN now and then
	newPhoneRate    = 0.04  // users with a phone who replace it during the window
	roamingRate     = 0.25  // phone logins abroad over the home carrier (roaming)
	hotelRate       = 0.6   // other logins on a trip, from the hotel's Wi-Fi
	// browserCycle is how often a browser gets a new major version.
	browserCycle = 28 * 24 * time.Hour
)

// hourWeights is when people log in, by local hour of the day.
var hourWeights = [24]int{2, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 9, 9, 8, 6, 4}

// population draws the users and their legitimate events.
//
// TODO: users who signed up before the window start with no history; simulate a warm-up.
// TODO: no TLS fingerprint (ja3/ja4) or client hints (sec-ch-ua) are simulated yet.
type population struct {
	world      *World
	cfg        Config
	start, end time.Time
	venues     *venues
	ids        map[string]bool
	emails     map[string]bool
}

// user draws the i-th user and their events. Each user has an own random
// stream, so a user does not change when the population grows.
func (p *population) user(i int) (*User, []Record) {
	r := newRand(p.cfg.Seed, userStream+uint64(i))
	u := p.newUser(r)
	var recs []Record
	from := p.start
	if u.SignsUp {
		d := u.Devices[0]
		ev := event(engine.TypeSignup, engine.OutcomeAttempted, u.Created, u.account(), d,
			u.homeAddr(r))
		recs = append(recs, Record{Label: legit(true), Event: ev})
		u.used[d.key(d.uaAt(u.Created))] = true
		from = u.Created
	}
	times := p.loginTimes(r, u, from)
	p.planTrips(r, u, from, len(times))
	p.planDevices(r, u, from)
	for _, t := range times {
		if _, flying := u.tripAt(t); flying {
			continue
		}
		recs = append(recs, u.login(r, t, p.venues)...)
	}
	return u, recs
}

func (p *population) newUser(r *rand.Rand) *User {
	home, _ := pickWeighted(r, p.world.Cities, func(c *City) int { return c.weight })
	u := &User{Home: home, ISP: pick(r, home.networks(0, false)).ASN, used: map[string]bool{}}
	for range 4 {
		if n := pick(r, home.networks(0, false)); n.ASN != u.ISP {
			u.Mobile = n.ASN
			break
		}
	}
	u.home4 = home.addr(r, u.ISP, false)
	if nets := home.networks(u.ISP, true); len(nets) > 0 && chance(r, 0.5) {
		u.home6 = netip.PrefixFrom(randomAddr(r, pick(r, nets).Prefix), 64).Masked()
	}
	u.ID = p.uniqueID(r)
	u.Email = p.uniqueEmail(r, home.Country)
	u.SignsUp = chance(r, p.cfg.SignupShare)
	if u.SignsUp {
		u.Created = p.start.Add(between(r, 0, p.end.Sub(p.start)*4/5))
	} else {
		u.Created = p.start.Add(-between(r, 20*24*time.Hour, 1500*24*time.Hour))
	}
	u.Devices = newDevices(r, home)
	if offices := p.venues.offices[home]; len(offices) > 0 && chance(r, officeRate) {
		u.Office = pick(r, offices)
	}
	if chance(r, vpnUserRate) {
		if u.VPN = p.vpnExit(r, home); u.VPN != nil {
			u.VPNShare = 0.3 + 0.7*r.Float64()
		}
	}
	return u
}

// vpnExit picks the city of a VPN user's server: most choose one in their
// own country, the others a popular location anywhere. Nil when the world
// has no VPN or hosting network.
func (p *population) vpnExit(r *rand.Rand, home *City) *City {
	in := func(local bool) (*City, bool) {
		return pickWeighted(r, p.world.Cities, func(c *City) int {
			if len(c.anonNets()) == 0 || local && c.Country != home.Country {
				return 0
			}
			return c.weight
		})
	}
	if chance(r, 0.6) {
		if c, ok := in(true); ok {
			return c
		}
	}
	c, _ := in(false)
	return c
}

func newDevices(r *rand.Rand, home *City) []*Device {
	n := 1
	switch x := r.Float64(); {
	case x < 0.15:
		n = 3
	case x < 0.55:
		n = 2
	}
	mobile := chance(r, 0.55)
	weights := []int{6, 3, 1}
	var out []*Device
	for i := range n {
		d := newDevice(r, pickAgent(r, mobile), home)
		d.weight = weights[i]
		if chance(r, cookielessRate) {
			d.ID = ""
		}
		if chance(r, noScriptRate) {
			d.ID, d.Screen, d.Timezone = "", "", ""
		}
		out = append(out, d)
		if i == 0 {
			mobile = !mobile
		} else {
			mobile = chance(r, 0.5)
		}
	}
	return out
}

// planDevices lets time act on the user's devices: browsers update to their
// next major version, and some users replace their phone.
func (p *population) planDevices(r *rand.Rand, u *User, from time.Time) {
	active := p.end.Sub(from)
	for _, d := range u.Devices {
		if next, ok := nextVersion(d.UA); ok && chance(r, float64(active)/float64(browserCycle)) {
			d.Updated, d.UpdatedUA = from.Add(between(r, 0, active)), next
		}
	}
	i := slices.IndexFunc(u.Devices, (*Device).Mobile)
	if i < 0 || !chance(r, newPhoneRate) {
		return
	}
	old := u.Devices[i]
	at := from.Add(between(r, active/5, active))
	phone := newDevice(r, pickAgentLike(r, old.agent), u.Home)
	phone.From, phone.weight = at, old.weight
	old.Until = at
	u.Devices = append(u.Devices, phone)
}

func (p *population) uniqueID(r *rand.Rand) string {
	for {
		id := "usr_" + hexID(r, 6)
		if !p.ids[id] {
			p.ids[id] = true
			return id
		}
	}
}

func (p *population) uniqueEmail(r *rand.Rand, country string) string {
	local, domain := personalLocal(r), mailDomain(r, country)
	e := local + "@" + domain
	for n := 2; p.emails[e]; n++ {
		e = local + strconv.Itoa(n) + "@" + domain
	}
	p.emails[e] = true
	return e
}

// loginTimes draws when the user logs in successfully, from from to the
// end of the window. A user who signs up logs in minutes later.
func (p *population) loginTimes(r *rand.Rand, u *User, from time.Time) []time.Time {
	active := p.end.Sub(from)
	window := p.end.Sub(p.start)
	share := float64(active) / float64(window)
	n := int(math.Round(logNormal(r, medianLogins*share*float64(p.cfg.Days)/21, loginSigma)))
	n = min(max(n, 1), maxLogins)
	times := make([]time.Time, 0, n)
	if u.SignsUp {
		times = append(times, from.Add(between(r, time.Minute, 10*time.Minute)))
	}
	for len(times) < n {
		times = append(times, localTime(r, from, p.end, u.Home.loc))
	}
	slices.SortFunc(times, time.Time.Compare)
	return times
}

// localTime draws an instant in [from, to) on a random day, at an hour
// people are awake in loc.
func localTime(r *rand.Rand, from, to time.Time, loc *time.Location) time.Time {
	for range 8 {
		day := from.Add(between(r, 0, to.Sub(from))).In(loc)
		hour := pickIndex(r, len(hourWeights), func(h int) int { return hourWeights[h] })
		t := time.Date(day.Year(), day.Month(), day.Day(), hour, r.IntN(60), r.IntN(60),
			r.IntN(1000)*int(time.Millisecond), loc)
		if !t.Before(from) && t.Before(to) {
			return t
		}
	}
	return from.Add(between(r, 0, to.Sub(from)))
}

// planTrips gives some active users a stay abroad and some a visit to
// another city of their country; trips never overlap.
func (p *population) planTrips(r *rand.Rand, u *User, from time.Time, logins int) {
	if p.end.Sub(from) <= 4*24*time.Hour {
		return
	}
	if logins >= 4 && chance(r, travelRate) {
		if t := p.newTrip(r, u.Home, from, true); t != nil {
			u.Trips = append(u.Trips, t)
		}
	}
	if logins < 3 || !chance(r, domesticRate) {
		return
	}
	for range 4 {
		t := p.newTrip(r, u.Home, from, false)
		if t == nil {
			return
		}
		if !slices.ContainsFunc(u.Trips, t.overlaps) {
			u.Trips = append(u.Trips, t)
			slices.SortFunc(u.Trips, func(a, b *Trip) int { return a.Leave.Compare(b.Leave) })
			return
		}
	}
}

// newTrip plans a stay in a city of another country (abroad) or of the
// same one: two to eight days abroad, one to four at home.
func (p *population) newTrip(r *rand.Rand, home *City, from time.Time, abroad bool) *Trip {
	to, ok := pickWeighted(r, p.world.Cities, func(c *City) int {
		if c == home || (c.Country != home.Country) != abroad {
			return 0
		}
		return c.weight
	})
	if !ok {
		return nil
	}
	stay := between(r, 24*time.Hour, 4*24*time.Hour)
	if abroad {
		stay = between(r, 2*24*time.Hour, 8*24*time.Hour)
	}
	leave := from.Add(between(r, 0, max(p.end.Sub(from)-stay, time.Hour)))
	// An airliner's block speed plus the hours spent getting to and
	// through airports: logins in between would be impossible travel.
	km := distanceKm(home.Lat, home.Lon, to.Lat, to.Lon)
	flight := time.Duration((km/800 + 3) * float64(time.Hour)).Round(time.Minute)
	return &Trip{To: to, Leave: leave, Back: leave.Add(stay), FlightTime: flight, Abroad: abroad}
}

// overlaps reports whether two trips share any time, flights included.
func (t *Trip) overlaps(o *Trip) bool {
	return t.Leave.Before(o.Back.Add(o.FlightTime)) && o.Leave.Before(t.Back.Add(t.FlightTime))
}

// login makes the events of one successful login at t: sometimes a failed
// attempt first, then the success.
func (u *User) login(r *rand.Rand, t time.Time, v *venues) []Record {
	trip, _ := u.tripAt(t)
	d := u.pickDevice(r, t, trip != nil)
	if d.ID != "" && chance(r, cookieResetRate) {
		d.ID = uuid4(r)
	}
	ip, situation := u.addrFor(r, d, t, trip, v)
	dev := *d
	if trip != nil && trip.Abroad && d.Mobile() && d.Timezone != "" {
		dev.Timezone = trip.To.Timezone // phones follow the local time zone
	}
	var recs []Record
	if chance(r, mistypeRate) {
		ev := event(engine.TypeLogin, engine.OutcomeFailed, t.Add(-between(r, 5*time.Second,
			45*time.Second)), u.account(), &dev, ip)
		recs = append(recs, Record{Label: legitReport(situation), Event: ev})
	}
	if chance(r, wrongEmailRate) {
		typo := engine.User{Email: mistype(r, u.Email)}
		ev := event(engine.TypeLogin, engine.OutcomeFailed, t.Add(-between(r, 50*time.Second,
			90*time.Second)), typo, &dev, ip)
		recs = append(recs, Record{Label: legitReport(situation), Event: ev})
	}
	ev := event(engine.TypeLogin, engine.OutcomeSucceeded, t, u.account(), &dev, ip)
	key := dev.key(ev.UserAgent)
	recs = append(recs, Record{Label: legitLogin(situation, u.used[key]), Event: ev})
	u.used[key] = true
	u.Logins = append(u.Logins, t)
	u.last = &dev
	u.last.UA, u.last.Updated = ev.UserAgent, time.Time{}
	return recs
}

// pickDevice prefers the first device among those in use at t; a
// traveller mostly uses a phone.
func (u *User) pickDevice(r *rand.Rand, t time.Time, away bool) *Device {
	if away {
		for _, d := range u.Devices {
			if d.active(t) && d.Mobile() && chance(r, 0.8) {
				return d
			}
		}
	}
	i := pickIndex(r, len(u.Devices), func(i int) int {
		if !u.Devices[i].active(t) {
			return 0
		}
		return u.Devices[i].weight
	})
	return u.Devices[max(i, 0)] // the first device is always in use
}

// addrFor returns the address of a login from device d at t, and the
// situation it is made in.
func (u *User) addrFor(r *rand.Rand, d *Device, t time.Time, trip *Trip,
	v *venues) (netip.Addr, string) {
	switch {
	case trip != nil && trip.Abroad && d.Mobile() && u.Mobile != 0 && chance(r, roamingRate):
		// Roaming data leaves through the home carrier, at home.
		return u.Home.natAddr(r, u.Mobile), SituationRoaming
	case trip != nil && chance(r, hotelRate) && len(v.hotels[trip.To]) > 0:
		return pick(r, v.hotels[trip.To]).Addr, SituationHotel
	case trip != nil:
		return trip.To.addr(r, 0, false), SituationTravel
	case u.Office != nil && !d.Mobile() && workHours(t.In(u.Home.loc)):
		return u.Office.Addr, SituationOffice
	case u.VPN != nil && !d.Mobile() && chance(r, u.VPNShare):
		return u.VPN.vpnAddr(r), SituationVPN
	case d.Mobile() && u.Mobile != 0 && chance(r, mobileDataRate):
		return u.Home.natAddr(r, u.Mobile), SituationMobile
	}
	return u.homeAddr(r), SituationHome
}

// workHours reports whether local time t is an office's working hours.
func workHours(t time.Time) bool {
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday && t.Hour() >= 8 && t.Hour() < 18
}

// homeAddr returns the address of the user's home connection: a fresh
// privacy address in the home /64 on IPv6, else the home IPv4 address,
// which the provider changes now and then.
func (u *User) homeAddr(r *rand.Rand) netip.Addr {
	if u.home6.IsValid() && chance(r, ipv6Rate) {
		return randomAddr(r, u.home6)
	}
	if chance(r, homeChurnRate) {
		u.home4 = u.Home.addr(r, u.ISP, false)
	}
	return u.home4
}

// mistype drops one letter of the address's local part.
func mistype(r *rand.Rand, email string) string {
	at := max(strings.IndexByte(email, '@'), 2)
	i := r.IntN(at - 1)
	return email[:i] + email[i+1:]
}

// distanceKm is the great-circle distance between two points.
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const earthKm = 6371.0
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthKm * math.Asin(math.Sqrt(a))
}
