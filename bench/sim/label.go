package sim

import "github.com/verdictrisk/verdict/engine"

// Label kinds.
const (
	KindLegit  = "legit"
	KindAttack = "attack"
)

// Attack names used in labels.
const (
	AttackCredentialStuffing = "credential_stuffing"
	AttackAccountTakeover    = "account_takeover"
	AttackSignupBurst        = "signup_burst"
)

// Label says who made an event. It travels beside the event, never inside
// it, so that the engine sees exactly what an auth server would send.
type Label struct {
	// Kind is KindLegit or KindAttack.
	Kind string `json:"kind"`
	// Attack names the attacker model of an attack event, such as
	// AttackCredentialStuffing; empty for legitimate events.
	Attack string `json:"attack,omitempty"`
	// Campaign groups the events of one attack run ("cs-1"); empty for
	// legitimate events.
	Campaign string `json:"campaign,omitempty"`
	// Decisive marks events whose decision matters: the login attempts and
	// successes and the signup attempts that a person or an attacker makes.
	// After-the-fact reports, such as a mistyped password's failed login
	// before the successful one, are not decisive.
	Decisive bool `json:"decisive"`
}

// Record is one line of a stream: an event and its label.
type Record struct {
	Label Label        `json:"label"`
	Event engine.Event `json:"event"`
}

func legit(decisive bool) Label { return Label{Kind: KindLegit, Decisive: decisive} }

func attack(name, campaign string, decisive bool) Label {
	return Label{Kind: KindAttack, Attack: name, Campaign: campaign, Decisive: decisive}
}
