package sim

import "github.com/verdictrisk/verdict/engine"

// Label kinds.
const (
	KindLegit  = "legit"
	KindAttack = "attack"
)

// Attack names used in labels: one per attacker model.
const (
	// AttackCredentialStuffing is naive credential stuffing: a leaked list
	// tried on many accounts from rotating addresses (CredentialStuffing).
	AttackCredentialStuffing = "credential_stuffing"
	// AttackAccountTakeover is a login with the right password from
	// another country (AccountTakeover with ModelForeign).
	AttackAccountTakeover = "account_takeover"
	// AttackVPN logs in from a VPN or hosting address in the victim's
	// country (ModelVPN).
	AttackVPN = "vpn_attacker"
	// AttackTargeted logs in from the victim's city with their browser
	// family (ModelTargeted).
	AttackTargeted = "targeted"
	// AttackVeryTargeted logs in from the victim's own provider with their
	// exact user agent (ModelVeryTargeted).
	AttackVeryTargeted = "very_targeted"
	// AttackBruteForce guesses one account's password (BruteForce).
	AttackBruteForce = "brute_force"
	// AttackPasswordSpraying tries a few passwords on many accounts, low
	// and slow, over many addresses (PasswordSpraying).
	AttackPasswordSpraying = "password_spraying"
	// AttackSignupBurst is bot signups: bursts from datacenter addresses
	// with headless browsers and disposable mail (SignupBurst).
	AttackSignupBurst = "signup_burst"
	// AttackResidentialSignups is fake signups spread over residential
	// proxies with real browsers (ResidentialSignups).
	AttackResidentialSignups = "signup_residential"
)

// Situations of a legitimate login: where the person is and which network
// they come through.
const (
	SituationHome    = "home"    // the home connection
	SituationMobile  = "mobile"  // a phone on the mobile carrier, behind its NAT
	SituationOffice  = "office"  // the office's shared address
	SituationVPN     = "vpn"     // through a commercial VPN
	SituationHotel   = "hotel"   // a hotel or airport network on a trip
	SituationTravel  = "travel"  // another residential network on a trip
	SituationRoaming = "roaming" // a phone abroad, over the home carrier
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
	// Situation says where a legitimate login is made (one of the
	// Situation constants), on the success and on the failed attempts
	// before it; empty on other events.
	Situation string `json:"situation,omitempty"`
	// KnownDevice marks a legitimate successful login from a device the
	// user has signed up or logged in with before in the stream, as the
	// engine can tell it: the same device cookie, or for a browser without
	// one the same user agent, language, time zone and screen.
	KnownDevice bool `json:"known_device,omitempty"`
}

// Record is one line of a stream: an event and its label.
type Record struct {
	Label Label        `json:"label"`
	Event engine.Event `json:"event"`
}

func legit(decisive bool) Label { return Label{Kind: KindLegit, Decisive: decisive} }

func legitLogin(situation string, known bool) Label {
	return Label{Kind: KindLegit, Decisive: true, Situation: situation, KnownDevice: known}
}

// legitReport labels a failed login reported before a legitimate success.
func legitReport(situation string) Label {
	return Label{Kind: KindLegit, Situation: situation}
}

func attack(name, campaign string, decisive bool) Label {
	return Label{Kind: KindAttack, Attack: name, Campaign: campaign, Decisive: decisive}
}
