// Package rba computes the statistical login-risk score of Freeman et al.
// ("Who Are You? A Statistical Approach to Measuring User Authenticity",
// NDSS 2016) with the configuration Wiefling et al. validated on 31 million
// real logins ("Pump Up Password Security!", ACM TOPS 2022). The engine
// scores every event of a user who has a login history and exposes the
// result as rba.score and rba.log10; docs/rba.md gives the formula, its
// sources and where this implementation differs from the papers' code.
//
// For a login with feature values x and a user u:
//
//	risk = p(u | attack) / p(u | legit) × Π_f p(x_f) / p(x_f | u)
//
// with two features, the IP address (hierarchy IP → ASN → country, weights
// 0.6, 0.3, 0.1) and the user agent (UA string → browser and version → OS
// and version → device type, weights ≈ 0.539, 0.268, 0.188, 0.005). A
// feature's likelihood is the weighted sum of its levels' likelihoods.
// p(x_f) comes from global frequency tables over every successful login of
// the tenant (the Model); p(x_f | u) from the user's own history (a
// History, which the engine's profiles implement). p(u | attack) is one over
// the number of users, p(u | legit) the user's share of all logins.
//
// The Model learns only what the engine teaches it: logins that succeeded
// and were allowed, allowed signups and passed challenges. Failed logins,
// stepped-up or denied logins and failed challenges never change it, so an
// attacker cannot make their own values look common. Its tables are bounded
// (Options.MaxValues per level) and are persisted beside the profiles (the
// Model is a profile.Attachment), so a restart keeps them.
//
// Metrics (with Options.Registerer):
//
//	verdict_rba_values{level}            gauge: values held per level
//	verdict_rba_evictions_total{level}   values evicted to stay within MaxValues
//	verdict_rba_logins                   gauge: logins the tables hold, all tenants
package rba

import "math"

// Level is one level of a feature's hierarchy: one value of a login.
type Level int

// The levels, in Login order.
const (
	IP Level = iota
	ASN
	Country
	UserAgent
	Browser
	OS
	DeviceType
	NumLevels
)

var levelNames = [NumLevels]string{"ip", "asn", "country", "user_agent", "browser", "os",
	"device_type"}

// String returns the level's name.
func (l Level) String() string { return levelNames[l] }

// Login holds one value per level. The engine fills it from the event's
// signals: the address, the AS number and country code, a hash of the user
// agent, the browser and the OS each with their major version, and the
// device type. An empty value (no geo data, no user agent) is a value like
// any other, as in the reference code.
type Login [NumLevels]string

// Feature is a hierarchy of levels, most specific first, with their weights.
type Feature struct {
	Name    string
	Levels  []Level
	Weights []float64
}

// Features are the model's features and weights, as Wiefling et al.
// configured them (the weights of the user agent hierarchy are theirs,
// unrounded).
var Features = []Feature{
	{Name: "ip", Levels: []Level{IP, ASN, Country}, Weights: []float64{0.6, 0.3, 0.1}},
	{Name: "user_agent", Levels: []Level{UserAgent, Browser, OS, DeviceType},
		Weights: []float64{0.5386653840551359, 0.2680451498625666, 0.18818295100109536,
			0.0051065150812021525}},
}

// History is one user's past logins as the model needs them.
type History interface {
	// Logins is the number of logins in the history.
	Logins() int
	// Count is how many of them had value v at level l.
	Count(l Level, v string) int
}

// Score is the result of scoring one login.
type Score struct {
	// Risk is the score: below 1 the login looks more like the user than
	// like an attacker; the papers' thresholds are on its logarithm.
	Risk float64
	// Log10 is log10(Risk).
	Log10 float64
	// Features are the per-feature factors p(x_f) / p(x_f | u), in Features
	// order.
	Features [2]float64
	// OK is false when there was nothing to score against: the user has no
	// history or the tenant's tables are empty. Risk and Log10 are then 0.
	OK bool
}

// globalCounts is what the model knows of one login across all users.
type globalCounts struct {
	logins, users float64
	count         [NumLevels]float64
	distinct      [NumLevels]float64
}

// score applies the formula to a login's global counts and a user history.
func score(g *globalCounts, x *Login, h History) Score {
	nu := float64(h.Logins())
	if nu == 0 || g.logins == 0 {
		return Score{}
	}
	s := Score{Risk: 1, OK: true}
	for i, f := range Features {
		global, local := 0.0, 0.0
		for k, l := range f.Levels {
			w := f.Weights[k]
			if k == 0 {
				global += w * smoothed(g, f, g.count[l])
			} else {
				global += w * g.count[l] / g.logins
			}
			local += w * float64(h.Count(l, x[l])) / nu
		}
		if local == 0 {
			// A value the user never had would otherwise be smoothed as
			// low as the global one and look harmless; the reference code
			// takes a quarter of the global likelihood instead.
			local = global / 4
		}
		s.Features[i] = global / local
		s.Risk *= s.Features[i]
	}
	users := math.Max(g.users, 1)
	s.Risk *= (1 / users) / (nu / g.logins)
	s.Log10 = math.Log10(s.Risk)
	return s
}

// smoothed is the global likelihood of a feature's most specific level,
// smoothed for unseen values as the reference code does: the history is
// taken to hold, besides its logins, one unseen value for every distinct
// value of the levels below and one more, so an address never seen gets
// 1 / (N + unseen) rather than 0.
func smoothed(g *globalCounts, f Feature, c float64) float64 {
	unseen := 1.0
	for _, l := range f.Levels[1:] {
		unseen += g.distinct[l]
	}
	return math.Max(c, 1) / (g.logins + unseen)
}
