package sim

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// agent is a real browser's user agent and the kind of device it runs on.
type agent struct {
	ua string
	// os is "windows", "macos", "linux", "chromeos", "android" or "ios".
	os string
	// form is "desktop", "mobile" or "tablet".
	form string
	// weight is the agent's relative share of devices.
	weight int
}

// Chromium-based browsers report a reduced user agent (Android 10, model
// "K", the minor version zeroed), which the strings below keep.
const (
	winNT   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
	macOS   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
	android = "Mozilla/5.0 (Linux; Android 10; K) "
	iphone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) "
	webkit  = "AppleWebKit/537.36 (KHTML, like Gecko) "
	safari  = "AppleWebKit/605.1.15 (KHTML, like Gecko) "
)

// agents are user agents of current browsers as they appear in real
// traffic in late 2026, weighted roughly by market share.
var agents = []agent{
	{winNT + webkit + "Chrome/142.0.0.0 Safari/537.36", "windows", "desktop", 14},
	{winNT + webkit + "Chrome/141.0.0.0 Safari/537.36", "windows", "desktop", 5},
	{winNT + webkit + "Chrome/143.0.0.0 Safari/537.36", "windows", "desktop", 3},
	{winNT + webkit + "Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0", "windows", "desktop", 5},
	{winNT + webkit + "Chrome/141.0.0.0 Safari/537.36 Edg/141.0.0.0", "windows", "desktop", 2},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:145.0) Gecko/20100101 Firefox/145.0",
		"windows", "desktop", 3},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:144.0) Gecko/20100101 Firefox/144.0",
		"windows", "desktop", 1},
	{winNT + webkit + "Chrome/141.0.0.0 Safari/537.36 OPR/124.0.0.0", "windows", "desktop", 1},
	{macOS + webkit + "Chrome/142.0.0.0 Safari/537.36", "macos", "desktop", 5},
	{macOS + safari + "Version/26.1 Safari/605.1.15", "macos", "desktop", 4},
	{macOS + safari + "Version/18.6 Safari/605.1.15", "macos", "desktop", 2},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:145.0) Gecko/20100101 Firefox/145.0",
		"macos", "desktop", 1},
	{macOS + webkit + "Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0", "macos", "desktop", 1},
	{"Mozilla/5.0 (X11; Linux x86_64) " + webkit + "Chrome/142.0.0.0 Safari/537.36",
		"linux", "desktop", 1},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0", "linux", "desktop", 1},
	{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:144.0) Gecko/20100101 Firefox/144.0",
		"linux", "desktop", 1},
	{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) " + webkit + "Chrome/142.0.0.0 Safari/537.36",
		"chromeos", "desktop", 1},
	{android + webkit + "Chrome/142.0.0.0 Mobile Safari/537.36", "android", "mobile", 14},
	{android + webkit + "Chrome/141.0.0.0 Mobile Safari/537.36", "android", "mobile", 5},
	{android + webkit + "SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36",
		"android", "mobile", 3},
	{"Mozilla/5.0 (Android 15; Mobile; rv:145.0) Gecko/145.0 Firefox/145.0", "android", "mobile", 1},
	{android + webkit + "Chrome/142.0.0.0 Mobile Safari/537.36 EdgA/142.0.0.0",
		"android", "mobile", 1},
	{android + webkit + "Chrome/142.0.0.0 Safari/537.36", "android", "tablet", 1},
	{iphone + safari + "Version/26.1 Mobile/15E148 Safari/604.1", "ios", "mobile", 10},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6_2 like Mac OS X) " + safari +
		"Version/18.6 Mobile/15E148 Safari/604.1", "ios", "mobile", 5},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_7_2 like Mac OS X) " + safari +
		"Version/17.7 Mobile/15E148 Safari/604.1", "ios", "mobile", 1},
	{iphone + safari + "CriOS/142.0.7444.46 Mobile/15E148 Safari/604.1", "ios", "mobile", 2},
	{iphone + safari + "FxiOS/145.0 Mobile/15E148 Safari/605.1.15", "ios", "mobile", 1},
	{iphone + safari + "Version/26.0 EdgiOS/142.0.3595.53 Mobile/15E148 Safari/605.1.15",
		"ios", "mobile", 1},
	{"Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) " + safari +
		"CriOS/142.0.7444.46 Mobile/15E148 Safari/604.1", "ios", "tablet", 1},
}

// screens are common CSS screen sizes by operating system and form.
var screens = map[string][]string{
	"windows/desktop":  {"1920x1080", "1536x864", "1366x768", "2560x1440", "1280x720"},
	"macos/desktop":    {"1512x982", "1728x1117", "1440x900", "2560x1440", "1920x1080"},
	"linux/desktop":    {"1920x1080", "2560x1440", "1366x768"},
	"chromeos/desktop": {"1366x768", "1536x864"},
	"android/mobile":   {"412x915", "393x873", "360x800", "384x854", "412x892"},
	"android/tablet":   {"800x1280", "1280x800"},
	"ios/mobile":       {"390x844", "393x852", "430x932", "375x667", "402x874"},
	"ios/tablet":       {"820x1180", "1024x1366"},
}

func (a *agent) screen(r *rand.Rand) string {
	s := screens[a.os+"/"+a.form]
	return s[r.IntN(len(s))]
}

// pickAgent draws an agent by weight: a phone or tablet when mobile is true,
// else a desktop.
func pickAgent(r *rand.Rand, mobile bool) *agent {
	i := pickIndex(r, len(agents), func(i int) int {
		if (agents[i].form != "desktop") != mobile {
			return 0
		}
		return agents[i].weight
	})
	return &agents[i] // both forms have agents of positive weight
}

// pickAgentLike draws an agent of the same operating system and form as a,
// as someone who replaces a phone stays with their platform.
func pickAgentLike(r *rand.Rand, a *agent) *agent {
	i := pickIndex(r, len(agents), func(i int) int {
		if agents[i].os != a.os || agents[i].form != a.form {
			return 0
		}
		return agents[i].weight
	})
	return &agents[i] // a itself qualifies
}

// versionTokens are the products whose major version a browser update
// raises, with the separator before the version.
var versionTokens = []string{"Chrome/", "CriOS/", "Edg/", "EdgA/", "EdgiOS/", "OPR/",
	"SamsungBrowser/", "Firefox/", "FxiOS/", "rv:"}

// nextVersion returns ua with its browser's major version raised by one,
// as an automatic update does, and false when ua names no such browser.
// Safari updates with the operating system and is left alone.
func nextVersion(ua string) (string, bool) {
	out, changed := ua, false
	for _, tok := range versionTokens {
		i := strings.Index(out, tok)
		if i < 0 {
			continue
		}
		start := i + len(tok)
		end := start
		for end < len(out) && out[end] >= '0' && out[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(out[start:end])
		if err != nil {
			continue
		}
		out = out[:start] + strconv.Itoa(n+1) + out[end:]
		changed = true
	}
	return out, changed
}

// family names the browser of a user agent as an attacker who knows "the
// victim uses Chrome" would: the product, not its version or platform.
func family(ua string) string {
	for _, f := range []string{"Edg", "OPR", "SamsungBrowser", "CriOS", "FxiOS", "Firefox",
		"Chrome"} {
		if strings.Contains(ua, f+"/") {
			return f
		}
	}
	return "Safari"
}

// toolAgents are the user agents of attack tools and HTTP libraries that
// naive scripts send as they are.
var toolAgents = []string{
	"python-requests/2.32.3",
	"curl/8.5.0",
	"Go-http-client/1.1",
	"okhttp/4.12.0",
	"axios/1.7.7",
	"Java/17.0.12",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) " +
		"HeadlessChrome/142.0.0.0 Safari/537.36",
}

// headlessAgent is a headless browser as bot frameworks drive it.
const headlessAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " +
	"(KHTML, like Gecko) HeadlessChrome/142.0.0.0 Safari/537.36"
