// Package engine turns an authentication event into a decision. It holds the
// event and decision model, the pipeline every entry point shares (HTTP,
// Kafka, the CLI, replay and evaluation), and the state the pipeline keeps.
//
// A decision goes through four stages:
//
//  1. enrich: the client address is resolved through trusted proxies and
//     classified, then geo, ASN, device and e-mail signals are looked up;
//  2. remember: the user's profile gives device.new, ip.country_new, user.*,
//     travel and, with the RBA model's global tables, rba.*; the velocity
//     counters declared in the rules are updated and read;
//  3. evaluate: the active rule set scores the signals and maps the score to
//     allow, step_up or deny;
//  4. record: an allowed successful login or signup, or a passed challenge,
//     teaches the profile and the RBA tables and leaves a lesson for
//     feedback (Feedback); the decision is remembered under the event id so
//     that a repeated event gets the same answer. Erase removes a user.
//
// See DESIGN.md at the repository root for the locks and their order.
//
// Metrics (all prefixed verdict_):
//
//	decisions_total{action}              decisions made, by action
//	decision_duration_seconds            engine time per decision (histogram)
//	reason_hits_total{code}              matched rules, by reason code
//	rule_evaluations_total{rule}         rule conditions evaluated
//	rule_matches_total{rule,mode}        rules matched; mode is active or shadow
//	rule_errors_total{rule}              rule evaluations that failed (counted as
//	                                     not matched); counters as counter:<name>
//	rule_evaluation_duration_seconds{rule}  time per rule (histogram, 1 decision in 16)
//	shadow_set_decisions_total{result}   decisions of the shadow rule set: agree, disagree
//	shadow_set_disagreements_total{live_action,shadow_action}
//	shadow_set_rule_matches_total{rule}  rules of the shadow rule set matched
//	events_repeated_total                events answered from the dedupe memory
//	events_id_reused_total               events refused: their id named another event
//	signal_missing_total{family}         decisions made without a signal family
package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/device"
	"github.com/verdictrisk/verdict/signals/geo"
	"github.com/verdictrisk/verdict/signals/network"
	"github.com/verdictrisk/verdict/signals/profile"
	"github.com/verdictrisk/verdict/signals/rba"
	"github.com/verdictrisk/verdict/signals/velocity"
)

// CitySource looks up where an address is. *geo.CityDB implements it.
type CitySource interface {
	Lookup(netip.Addr) (geo.Location, bool)
}

// ASNSource looks up an address's network operator. *geo.ASNDB implements it.
type ASNSource interface {
	Lookup(netip.Addr) (geo.Network, bool)
}

// DomainSet tells whether an e-mail domain (or a parent) is listed.
// *email.Domains implements it. A set that also has a Ready() bool method
// (a feed, refdata.DomainsView) is asked before each use: when it is not
// ready, email_domains is named missing.
type DomainSet interface {
	Contains(domain string) bool
}

// NetworkLists tells which network lists hold an address or its AS number.
// *refdata.ListsView implements it.
type NetworkLists interface {
	// Match sets the list signals of ip (hosting, vpn, tor, blocklisted,
	// allowlisted, lists) for address a announced by asn (0 when unknown),
	// and reports false when some list could not be consulted (no copy,
	// or a stale one): the engine then names network_lists missing.
	Match(a netip.Addr, asn uint32, ip *signals.IP) (complete bool)
}

// Options configure an Engine. Only Rules is required: every signal source
// left nil is reported missing in each decision.
type Options struct {
	Rules *rules.Set
	// ShadowRules, if set, is a candidate rule set decided beside Rules on
	// every event without effect (see Engine.SetShadowRules). Default none.
	ShadowRules *rules.Set
	// City and ASN are the geo sources; nil means no geo data.
	City CitySource
	ASN  ASNSource
	// Devices parses user agents; nil uses a parser without crawler list.
	Devices *device.Parser
	// Disposable lists disposable e-mail domains; nil means none known.
	Disposable DomainSet
	// Lists are the network lists (hosting, VPN, Tor, block, allow); nil
	// means none, and network_lists is named missing.
	Lists NetworkLists
	// Profiles keeps per-user history; nil keeps it in memory only.
	Profiles *profile.Store
	// Velocity holds the counters; nil creates an in-memory store.
	Velocity *velocity.Store
	// RBA is the RBA model's global frequency tables. Nil creates one
	// (with rba.DefaultMaxValues) and attaches it to Profiles, so that it is
	// kept beside the profiles and written in the same transactions.
	RBA *rba.Model
	// SeenUsersWindow is how far back device.seen_users counts distinct
	// users on a device. Default 30 days; at most velocity.MaxWindow.
	SeenUsersWindow time.Duration
	// Proxies are the trusted proxies whose forwarding headers are
	// believed; nil trusts none.
	Proxies *network.Proxies
	// NetworkV4Bits and NetworkV6Bits size ip.network, the prefix an
	// address is also counted under. Defaults 24 and 64.
	NetworkV4Bits, NetworkV6Bits int
	Travel                       profile.TravelOptions
	// DedupeWindow is how long an event id is remembered, at least: ids
	// live between one and two windows. It should cover the auth server's
	// retries and a Kafka redelivery after a crash. Default 1h.
	DedupeWindow time.Duration
	// DedupeMax bounds the remembered event ids; about 250 bytes each.
	// When it is reached the older half is forgotten early. Default 500,000.
	DedupeMax int
	// MaxFutureSkew is how far ahead of the receive time an event time may
	// be; a later time is replaced by the receive time. It is also how far
	// after the event time user.created_at may be; a later one is refused.
	// Default 5m.
	MaxFutureSkew time.Duration
	// HabitMinLogins is how many allowed successful logins of a tenant the
	// engine sees before it reports what they usually look like
	// (device.client_data_usual); until then that signal is 0, so rules
	// comparing against it stay quiet. Default 200: fewer make the share
	// jumpy on a new install, more delay it.
	HabitMinLogins int
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.NetworkV4Bits == 0 {
		o.NetworkV4Bits = 24
	}
	if o.NetworkV6Bits == 0 {
		o.NetworkV6Bits = 64
	}
	if o.Travel.MaxKmh == 0 {
		o.Travel = profile.DefaultTravel
	}
	if o.DedupeWindow == 0 {
		o.DedupeWindow = time.Hour
	}
	if o.DedupeMax == 0 {
		o.DedupeMax = 500_000
	}
	if o.SeenUsersWindow == 0 {
		o.SeenUsersWindow = 30 * 24 * time.Hour
	}
	if o.MaxFutureSkew == 0 {
		o.MaxFutureSkew = defaultFutureSkew
	}
	if o.HabitMinLogins <= 0 {
		o.HabitMinLogins = 200
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Engine makes decisions. It is safe for concurrent use.
type Engine struct {
	opts         Options
	log          *slog.Logger
	state        atomic.Pointer[ruleState]
	vms          sync.Pool
	dedupe       *dedupe
	met          *metrics
	ownsProfiles bool
	ownsDevices  bool
	// unavailable are the families with no source at all.
	unavailable uint16
	ruleErrLog  *rateLimiter
	rr          ruleRuntime
	// seenUsers counts distinct users per device for device.seen_users.
	seenUsers *velocity.Counter
	interned  *interned
	// habits are the tenants' backgrounds (device.client_data_usual).
	habits *habits
}

// New builds an engine.
func New(opts Options) (*Engine, error) {
	opts.defaults()
	if opts.Rules == nil {
		return nil, errors.New("engine: no rule set")
	}
	e := &Engine{opts: opts, log: opts.Logger.With("component", "engine"),
		dedupe: newDedupe(opts.DedupeWindow, opts.DedupeMax), ruleErrLog: newRateLimiter(time.Minute),
		interned: newInterned(), habits: newHabits(opts.HabitMinLogins)}
	e.vms.New = func() any { return new(vm.VM) }
	if e.opts.Devices == nil {
		p, err := device.NewParser(device.Options{})
		if err != nil {
			return nil, fmt.Errorf("engine: user-agent parser: %w", err)
		}
		e.opts.Devices, e.ownsDevices = p, true
	}
	if e.opts.Velocity == nil {
		e.opts.Velocity = velocity.NewStore(velocity.Options{Logger: opts.Logger})
	}
	if e.opts.Profiles == nil {
		p, err := profile.Open(profile.Options{Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
		e.opts.Profiles, e.ownsProfiles = p, true
	}
	if e.opts.RBA == nil {
		m, err := AttachRBA(e.opts.Profiles, rba.Options{Registerer: opts.Registerer})
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("engine: %w", err)
		}
		e.opts.RBA = m
	}
	e.seenUsers = e.opts.Velocity.Counter(seenUsersSpec(e.opts.SeenUsersWindow))
	e.met = newMetrics(opts.Registerer)
	e.unavailable = e.noSource()
	e.initRules()
	e.SetRules(opts.Rules)
	if opts.ShadowRules != nil {
		e.SetShadowRules(opts.ShadowRules)
	}
	return e, nil
}

// Profiles returns the profile store.
func (e *Engine) Profiles() *profile.Store { return e.opts.Profiles }

// Velocity returns the counter store.
func (e *Engine) Velocity() *velocity.Store { return e.opts.Velocity }

// Unavailable names the signal families that have no source configured; it
// is empty, not nil, when every source is there, so that JSON shows [].
// TODO: report feeds that are configured but hold no copy (refdata.Manager.Missing) here too, for /readyz.
func (e *Engine) Unavailable() []string {
	names := familiesOf(e.unavailable).Names()
	if names == nil {
		names = []string{}
	}
	return names
}

// Close releases what the engine opened itself.
func (e *Engine) Close() error {
	if e.ownsDevices {
		e.opts.Devices.Close()
	}
	if e.ownsProfiles {
		return e.opts.Profiles.Close()
	}
	return nil
}

// rateLimiter lets one log line through per key and interval.
type rateLimiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
}

func newRateLimiter(every time.Duration) *rateLimiter {
	return &rateLimiter{every: every, last: map[string]time.Time{}}
}

func (r *rateLimiter) allow(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.last[key]; ok && now.Sub(t) < r.every {
		return false
	}
	r.last[key] = now
	return true
}
