package eval

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/bench/sim"
	"github.com/verdictrisk/verdict/rules"
)

// Report is what an evaluation measured. Shares are fractions (0–1).
type Report struct {
	// About describes the stream and Machine the computer it ran on; the
	// caller fills them.
	About        string           `json:"about"`
	Machine      string           `json:"machine"`
	RulesVersion string           `json:"rules_version"`
	Thresholds   rules.Thresholds `json:"thresholds"`
	// Events is the number of events decided from the stream, Challenges
	// the number of challenge results the evaluation added.
	Events     int   `json:"events"`
	Challenges int   `json:"challenges"`
	Legit      Legit `json:"legit"`
	// Attacks holds one row per attacker model, in the order of
	// sim.DefaultAttackers, then any other.
	Attacks   []Attack   `json:"attacks"`
	Campaigns []Campaign `json:"campaigns"`
	// Reauth is the median re-authentication rate by login history.
	Reauth []ReauthBucket `json:"reauth"`
	// Curve is the trade-off at each step-up threshold; CurveExact is true
	// when each point comes from its own run rather than from the recorded
	// scores.
	Curve      []CurvePoint  `json:"curve"`
	CurveExact bool          `json:"curve_exact"`
	Targets    []Target      `json:"targets"`
	Took       time.Duration `json:"took_ns"`
}

// Tally counts the decisions of a group of decisive events.
type Tally struct {
	Events int `json:"events"`
	Allow  int `json:"allow"`
	StepUp int `json:"step_up"`
	Deny   int `json:"deny"`
}

func (t *Tally) add(a rules.Action) {
	t.Events++
	switch a {
	case rules.StepUp:
		t.StepUp++
	case rules.Deny:
		t.Deny++
	default:
		t.Allow++
	}
}

// Stopped is the share of events stepped up or denied.
func (t Tally) Stopped() float64 { return share(t.StepUp+t.Deny, t.Events) }

// StepUpShare and DenyShare are the shares stepped up and denied.
func (t Tally) StepUpShare() float64 { return share(t.StepUp, t.Events) }

// DenyShare is the share of events denied.
func (t Tally) DenyShare() float64 { return share(t.Deny, t.Events) }

func share(n, of int) float64 {
	if of == 0 {
		return math.NaN()
	}
	return float64(n) / float64(of)
}

// Legit is what legitimate users met.
type Legit struct {
	// Logins are the successful logins; KnownDevice and NewDevice split
	// them by whether the device was seen before (sim.Label.KnownDevice).
	Logins      Tally `json:"logins"`
	KnownDevice Tally `json:"known_device"`
	NewDevice   Tally `json:"new_device"`
	Signups     Tally `json:"signups"`
	// Situations splits the logins by where they are made.
	Situations map[string]Tally `json:"situations"`
	// Reasons counts the reason codes of the logins not allowed.
	Reasons map[string]int `json:"reasons"`
}

// Attack is one attacker model's result.
type Attack struct {
	Name string `json:"name"`
	Tally
	// TPR is the share of the model's decisive events stepped up or denied.
	TPR Ratio `json:"tpr"`
}

// Campaign is one attack run's result.
type Campaign struct {
	Campaign string `json:"campaign"`
	Attack   string `json:"attack"`
	Attempts int    `json:"attempts"`
	// Passed is how many attempts were allowed before the first one the
	// engine stepped up or denied; -1 when it never reacted.
	Passed int `json:"passed"`
	// Stopped is the share of the campaign's attempts stepped up or denied.
	Stopped Ratio `json:"stopped"`
}

// ReauthBucket is the re-authentication rate of legitimate logins made
// with a history of From to To earlier logins (To -1: no upper bound): for
// each user with such logins, the share of them stepped up or denied; the
// median and mean over those users.
type ReauthBucket struct {
	From   int   `json:"from"`
	To     int   `json:"to"`
	Users  int   `json:"users"`
	Logins int   `json:"logins"`
	Median Ratio `json:"median"`
	Mean   Ratio `json:"mean"`
}

// reauthBuckets are the history ranges of the re-authentication table;
// the last starts at 39 to compare with Wiefling et al.'s figure after 39
// logins.
var reauthBuckets = [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 4}, {5, 9}, {10, 19}, {20, 38},
	{39, -1}}

// CurvePoint is the trade-off at one step-up threshold.
type CurvePoint struct {
	StepUp int `json:"step_up"`
	// LegitBothered is the share of legitimate logins stepped up or
	// denied, LegitDenied of those denied.
	LegitBothered Ratio `json:"legit_bothered"`
	LegitDenied   Ratio `json:"legit_denied"`
	// TPR is each attacker model's share stopped.
	TPR map[string]Ratio `json:"tpr"`
}

// build computes the report of one run.
func build(obs []observation, set *rules.Set, curve []int) *Report {
	rep := &Report{RulesVersion: set.Version, Thresholds: set.Thresholds}
	rep.Legit = legitOf(obs)
	rep.Attacks = attacksOf(obs)
	rep.Campaigns = campaignsOf(obs)
	rep.Reauth = reauthOf(obs)
	for _, t := range curve {
		th := set.Thresholds
		th.StepUp = t
		rep.Curve = append(rep.Curve, curvePoint(obs, th))
	}
	rep.Targets = checkTargets(rep)
	return rep
}

func legitOf(obs []observation) Legit {
	l := Legit{Situations: map[string]Tally{}, Reasons: map[string]int{}}
	for _, o := range obs {
		if o.label.Kind != sim.KindLegit {
			continue
		}
		switch {
		case o.signup:
			l.Signups.add(o.action)
		case o.login:
			l.Logins.add(o.action)
			if o.label.KnownDevice {
				l.KnownDevice.add(o.action)
			} else {
				l.NewDevice.add(o.action)
			}
			s := l.Situations[o.label.Situation]
			s.add(o.action)
			l.Situations[o.label.Situation] = s
			if o.action != rules.Allow {
				for _, r := range o.reasons {
					l.Reasons[r]++
				}
			}
		}
	}
	return l
}

func attacksOf(obs []observation) []Attack {
	byName := map[string]*Attack{}
	for _, o := range obs {
		if o.label.Kind != sim.KindAttack {
			continue
		}
		a := byName[o.label.Attack]
		if a == nil {
			a = &Attack{Name: o.label.Attack}
			byName[o.label.Attack] = a
		}
		a.add(o.action)
	}
	var out []Attack
	for _, m := range sim.DefaultAttackers() {
		if a := byName[m.Name()]; a != nil {
			out = append(out, *a)
			delete(byName, m.Name())
		}
	}
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, *byName[n])
	}
	for i := range out {
		out[i].TPR = Ratio(out[i].Stopped())
	}
	return out
}

func campaignsOf(obs []observation) []Campaign {
	var out []Campaign
	idx := map[string]int{}
	for _, o := range obs {
		if o.label.Kind != sim.KindAttack {
			continue
		}
		i, ok := idx[o.label.Campaign]
		if !ok {
			i = len(out)
			idx[o.label.Campaign] = i
			out = append(out, Campaign{Campaign: o.label.Campaign, Attack: o.label.Attack,
				Passed: -1})
		}
		c := &out[i]
		if o.action != rules.Allow {
			c.Stopped++
			if c.Passed < 0 {
				c.Passed = c.Attempts
			}
		}
		c.Attempts++
	}
	for i := range out {
		out[i].Stopped /= Ratio(out[i].Attempts)
	}
	// Campaigns are named after their place in the attacker list
	// ("vpn_attacker-3"): keep that order.
	slices.SortStableFunc(out, func(a, b Campaign) int {
		return cmp.Compare(campaignNumber(a.Campaign), campaignNumber(b.Campaign))
	})
	return out
}

// campaignNumber returns the number after the last dash of a campaign
// name, or 0.
func campaignNumber(name string) int {
	i := strings.LastIndexByte(name, '-')
	n, _ := strconv.Atoi(name[i+1:])
	return n
}

func reauthOf(obs []observation) []ReauthBucket {
	type count struct{ logins, bothered int }
	perUser := make([]map[string]*count, len(reauthBuckets))
	for i := range perUser {
		perUser[i] = map[string]*count{}
	}
	for _, o := range obs {
		if o.label.Kind != sim.KindLegit || !o.login {
			continue
		}
		b := slices.IndexFunc(reauthBuckets, func(b [2]int) bool {
			return o.prior >= b[0] && (b[1] < 0 || o.prior <= b[1])
		})
		c := perUser[b][o.user]
		if c == nil {
			c = &count{}
			perUser[b][o.user] = c
		}
		c.logins++
		if o.action != rules.Allow {
			c.bothered++
		}
	}
	out := make([]ReauthBucket, len(reauthBuckets))
	for i, b := range reauthBuckets {
		rates := make([]float64, 0, len(perUser[i]))
		rb := ReauthBucket{From: b[0], To: b[1], Users: len(perUser[i])}
		sum := 0.0
		for _, c := range perUser[i] {
			r := float64(c.bothered) / float64(c.logins)
			rates = append(rates, r)
			sum += r
			rb.Logins += c.logins
		}
		rb.Median, rb.Mean = Ratio(median(rates)), Ratio(sum/float64(len(rates)))
		out[i] = rb
	}
	return out
}

// median returns the median of xs (the mean of the middle two for an even
// count), NaN when empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// curvePoint applies thresholds th to the recorded decisions: exactly what
// the rule set's Evaluate would have decided from the same score and
// forced action.
func curvePoint(obs []observation, th rules.Thresholds) CurvePoint {
	p := CurvePoint{StepUp: th.StepUp, TPR: map[string]Ratio{}}
	var legit Tally
	attacks := map[string]*Tally{}
	for _, o := range obs {
		a := th.Action(o.score, o.forced)
		switch {
		case o.label.Kind == sim.KindLegit && o.login:
			legit.add(a)
		case o.label.Kind == sim.KindAttack:
			t := attacks[o.label.Attack]
			if t == nil {
				t = &Tally{}
				attacks[o.label.Attack] = t
			}
			t.add(a)
		}
	}
	p.LegitBothered, p.LegitDenied = Ratio(legit.Stopped()), Ratio(legit.DenyShare())
	for n, t := range attacks {
		p.TPR[n] = Ratio(t.Stopped())
	}
	return p
}

// Ratio is a share or rate; NaN (nothing to measure) is written as null
// in JSON.
type Ratio float64

// MarshalJSON writes the ratio, or null for NaN.
func (r Ratio) MarshalJSON() ([]byte, error) {
	f := float64(r)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

// checkRecorded verifies that the recorded score and forced action of every
// decision give its action under the rule set's own thresholds, so that
// the curve's other thresholds are applied to faithful records.
func checkRecorded(obs []observation, th rules.Thresholds) error {
	for i, o := range obs {
		if a := th.Action(o.score, o.forced); a != o.action {
			return fmt.Errorf("eval: decision %d: score %d and forced %q give %s, the engine said %s",
				i+1, o.score, o.forced, a, o.action)
		}
	}
	return nil
}
