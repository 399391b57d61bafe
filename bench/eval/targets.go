package eval

import (
	"fmt"
	"math"
	"slices"

	"github.com/verdictrisk/verdict/bench/sim"
)

// Target is one of the project's detection-quality targets and where the
// run stands against it.
type Target struct {
	Name string `json:"name"`
	// Want and Got describe the target and the measured value in words
	// ("≤ 2.0%", "1.3%").
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// Targets on the default simulator configuration with the default rules.
const (
	maxLegitStepUp    = 0.02  // legitimate logins stepped up
	minNaiveTPR       = 0.995 // naive attackers stopped
	minTargetedTPR    = 0.99  // targeted attackers stopped
	maxCampaignPassed = 20    // attempts a stuffing or spraying campaign gets through
	minBotSignups     = 0.98  // bot signups stopped
	// wieflingReauth is the median re-authentication rate Wiefling et al.
	// report after 39 logins at 99.5 % of targeted attackers blocked: the
	// bar to stay well under.
	wieflingReauth = 0.11
)

// naiveModels and botModels are the attacker models each target covers:
// naive credential stuffing and the takeover that knows nothing of its
// victim (the naive attacker of Freeman et al.); both kinds of fake
// signups.
var (
	naiveModels   = []string{sim.AttackCredentialStuffing, sim.AttackAccountTakeover}
	botModels     = []string{sim.AttackSignupBurst, sim.AttackResidentialSignups}
	campaignsOf20 = []string{sim.AttackCredentialStuffing, sim.AttackPasswordSpraying}
)

func checkTargets(r *Report) []Target {
	l := r.Legit
	out := []Target{
		{Name: "legitimate logins stepped up", Want: "≤ " + pct(maxLegitStepUp),
			Got: pct(l.Logins.StepUpShare()), Met: l.Logins.StepUpShare() <= maxLegitStepUp},
		{Name: "legitimate logins denied on a known device", Want: "0",
			Got: fmt.Sprint(l.KnownDevice.Deny), Met: l.KnownDevice.Deny == 0},
	}
	for _, n := range naiveModels {
		out = append(out, tprTarget(r, n, minNaiveTPR))
	}
	out = append(out, tprTarget(r, sim.AttackTargeted, minTargetedTPR))
	for _, c := range r.Campaigns {
		if !slices.Contains(campaignsOf20, c.Attack) {
			continue
		}
		t := Target{Name: c.Campaign + " attempts before the engine reacts",
			Want: fmt.Sprintf("≤ %d", maxCampaignPassed), Got: passed(c.Passed)}
		t.Met = c.Passed >= 0 && c.Passed <= maxCampaignPassed
		out = append(out, t)
	}
	for _, n := range botModels {
		out = append(out, tprTarget(r, n, minBotSignups))
	}
	// Wiefling et al.'s figure holds at 99.5 % of targeted attackers
	// blocked; a low rate that stops fewer of them compares with nothing.
	last := r.Reauth[len(r.Reauth)-1]
	targeted := tprTarget(r, sim.AttackTargeted, minNaiveTPR)
	out = append(out, Target{Name: fmt.Sprintf("median re-authentication after %d+ logins",
		last.From), Want: fmt.Sprintf("well under %.2f with ≥ %s of targeted stopped",
		wieflingReauth, pct(minNaiveTPR)),
		Got: fmt.Sprintf("%s with %s", ratio(float64(last.Median)), targeted.Got),
		Met: float64(last.Median) < wieflingReauth/2 && targeted.Met})
	return out
}

func tprTarget(r *Report, name string, min float64) Target {
	t := Target{Name: name + " stopped", Want: "≥ " + pct(min), Got: "no events"}
	for _, a := range r.Attacks {
		if a.Name == name {
			t.Got, t.Met = pct(float64(a.TPR)), float64(a.TPR) >= min
		}
	}
	return t
}

func passed(n int) string {
	if n < 0 {
		return "never stopped"
	}
	return fmt.Sprint(n)
}

// pct formats a share as a percentage with one decimal, "-" for NaN.
func pct(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

func ratio(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.3f", f)
}
