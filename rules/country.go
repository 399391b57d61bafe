package rules

import (
	"fmt"
	"strings"
)

// countryCodes are the values ip.country can hold: the 249 ISO 3166-1
// alpha-2 codes assigned to countries and territories, and XK, which ISO
// leaves to users and the geo databases (DB-IP, MaxMind) give Kosovo. Codes
// that ISO withdrew (SU, YU, AN) or only reserves (UK, EU) are not here:
// no address is placed in them.
var countryCodes = func() map[string]bool {
	const codes = "" +
		"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ " +
		"BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR " +
		"CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
		"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU " +
		"ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ " +
		"LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ " +
		"MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF " +
		"PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI " +
		"SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR " +
		"TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW " +
		"XK"
	out := map[string]bool{}
	for _, c := range strings.Fields(codes) {
		out[c] = true
	}
	return out
}()

// countryMixups are codes people write for a country whose ISO code is
// another: the United Kingdom's own abbreviation, and the code the EU uses
// for Greece.
var countryMixups = map[string]struct{ code, country string }{
	"UK": {"GB", "the United Kingdom"},
	"EL": {"GR", "Greece"},
}

// countryProblem says why v, in any case, is not a country code that
// ip.country can hold, or returns "" when it is one. Country lists refuse
// such a value and the lint warns about a condition comparing ip.country
// with one, in the same words.
func countryProblem(v string) string {
	u := strings.ToUpper(v)
	if m, ok := countryMixups[u]; ok {
		return fmt.Sprintf("%s is %s, not %s", m.country, m.code, u)
	}
	if !isCountryCode(v) {
		return "countries are two-letter ISO 3166-1 codes, such as DE"
	}
	if !countryCodes[u] {
		return fmt.Sprintf("no country has the ISO 3166-1 code %s", u)
	}
	return ""
}
