package engine

import (
	"time"

	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
)

// Decision is the engine's answer for one event.
type Decision struct {
	ID      string       `json:"decision_id"`
	EventID string       `json:"event_id"`
	Action  rules.Action `json:"action"`
	// Score is the risk score, 0–100.
	Score   int      `json:"score"`
	Reasons []Reason `json:"reasons"`
	// Shadow lists what shadow rules would have added; it never changes
	// the action.
	Shadow []Reason `json:"shadow,omitempty"`
	// Signals are the values the rules read, under the names they use.
	Signals signals.Set `json:"signals"`
	// Missing names the signal families that could not be computed.
	Missing      []string `json:"missing"`
	RulesVersion string   `json:"rules_version"`
	// TookUS is the engine's own time for the decision, in microseconds.
	TookUS float64 `json:"took_us"`
	// Time is the event time the decision was made for.
	Time time.Time `json:"time"`
	// Repeated is true when the event's id was seen before within the
	// dedupe window: the first decision is returned again, without its
	// signals, and the event is not counted twice.
	Repeated bool `json:"repeated,omitempty"`
	// Explain holds every rule's result when an explanation was asked for.
	Explain []RuleResult `json:"explain,omitempty"`
	// ShadowSet is the shadow rule set's decision, when one runs and an
	// explanation was asked for.
	ShadowSet *ShadowSetResult `json:"shadow_set,omitempty"`

	counts   signals.Counts
	counters []string
	userKey  string
	tenant   string
}

// Reason is why a rule added score or forced an action. Code is stable and
// meant for the auth server to map to its UI.
type Reason struct {
	Code    string       `json:"code"`
	Rule    string       `json:"rule"`
	Score   int          `json:"score"`
	Action  rules.Action `json:"action,omitempty"`
	Message string       `json:"message,omitempty"`
}

// RuleResult is one rule's result in an explanation.
type RuleResult struct {
	Rule    string         `json:"rule"`
	Matched bool           `json:"matched"`
	Shadow  bool           `json:"shadow,omitempty"`
	Skipped string         `json:"skipped,omitempty"`
	Error   string         `json:"error,omitempty"`
	TookNS  int64          `json:"took_ns"`
	Reads   map[string]any `json:"reads,omitempty"`
}

// ShadowSetResult is what the rule set running in shadow decided.
type ShadowSetResult struct {
	RulesVersion string       `json:"rules_version"`
	Action       rules.Action `json:"action"`
	Score        int          `json:"score"`
	Reasons      []Reason     `json:"reasons"`
}

// UserKey returns the identity the decision's state was kept under.
func (d *Decision) UserKey() string { return d.userKey }

// Tenant returns the event's tenant.
func (d *Decision) Tenant() string { return d.tenant }

// Velocity returns the counter values of the decision by counter name.
func (d *Decision) Velocity() map[string]int {
	m := make(map[string]int, len(d.counters))
	for i, n := range d.counters {
		m[n] = d.counts[i]
	}
	return m
}

// MarshalJSON writes the decision with its velocity counts by name.
func (d *Decision) MarshalJSON() ([]byte, error) { return d.AppendJSON(nil), nil }
