package refdata

import (
	"net/netip"
	"time"

	"github.com/verdictrisk/verdict/feeds/lists"
	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/email"
	"github.com/verdictrisk/verdict/signals/geo"
)

// CityView answers city lookups from the geo_city feed's copy in use; it
// implements engine.CitySource. Without a copy every lookup misses.
type CityView struct{ f *Feed }

// City returns the view of the city feed.
func (m *Manager) City() CityView { return CityView{m.city} }

// Lookup implements engine.CitySource.
func (v CityView) Lookup(a netip.Addr) (geo.Location, bool) {
	if db, ok := v.f.value().(*geo.CityDB); ok {
		return db.Lookup(a)
	}
	return geo.Location{}, false
}

// DB returns the city database in use, or nil.
func (v CityView) DB() *geo.CityDB { db, _ := v.f.value().(*geo.CityDB); return db }

// ASNView answers ASN lookups from the geo_asn feed; it implements
// engine.ASNSource.
type ASNView struct{ f *Feed }

// ASN returns the view of the ASN feed.
func (m *Manager) ASN() ASNView { return ASNView{m.asn} }

// Lookup implements engine.ASNSource.
func (v ASNView) Lookup(a netip.Addr) (geo.Network, bool) {
	if db, ok := v.f.value().(*geo.ASNDB); ok {
		return db.Lookup(a)
	}
	return geo.Network{}, false
}

// DB returns the ASN database in use, or nil.
func (v ASNView) DB() *geo.ASNDB { db, _ := v.f.value().(*geo.ASNDB); return db }

// DomainsView answers disposable-domain lookups; it implements
// engine.DomainSet.
type DomainsView struct{ f *Feed }

// Disposable returns the view of the disposable-domain feed.
func (m *Manager) Disposable() DomainsView { return DomainsView{m.domains} }

// Contains implements engine.DomainSet.
func (v DomainsView) Contains(domain string) bool {
	d, ok := v.f.value().(*email.Domains)
	return ok && d.Contains(domain)
}

// Ready reports whether the feed has a copy: without one, Contains is false
// for want of data, and the engine names email_domains missing.
func (v DomainsView) Ready() bool { return v.f.cur.Load() != nil }

// ListsView matches addresses and AS numbers against every network list; it
// implements engine.NetworkLists.
type ListsView struct {
	feeds []*Feed
	// aging is true when some list has a max_age, so Match needs the time.
	aging bool
}

// Lists returns the view of the network lists.
func (m *Manager) Lists() *ListsView {
	v := &ListsView{feeds: m.lists}
	for _, f := range m.lists {
		v.aging = v.aging || f.maxAge > 0
	}
	return v
}

// Match sets ip.hosting, ip.vpn, ip.tor, ip.blocklisted and ip.allowlisted
// from the roles of the lists that hold a or its AS number asn (0 when
// unknown), and appends their names to ip.Lists in configuration order. It
// reports false when some list has no copy or a stale one: the signals are
// then incomplete and the engine names network_lists missing.
func (v *ListsView) Match(a netip.Addr, asn uint32, ip *signals.IP) (complete bool) {
	complete = true
	var now time.Time
	if v.aging {
		now = time.Now()
	}
	for _, f := range v.feeds {
		l, ok := f.value().(*lists.List)
		if !ok {
			complete = false
			continue
		}
		if v.aging && f.stale(now) {
			complete = false
		}
		if !l.ContainsAddr(a) && !l.ContainsASN(asn) {
			continue
		}
		ip.Lists = append(ip.Lists, l.Name)
		switch l.Role {
		case lists.Hosting:
			ip.Hosting = true
		case lists.VPN:
			ip.VPN = true
		case lists.Tor:
			ip.Tor = true
		case lists.Block:
			ip.Blocklisted = true
		case lists.Allow:
			ip.Allowlisted = true
		}
	}
	return complete
}

// Len returns the number of lists.
func (v *ListsView) Len() int { return len(v.feeds) }
