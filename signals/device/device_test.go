package device

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Real user agents of current browsers.
const (
	uaChromeWin     = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaFirefoxWin    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaEdgeWin       = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
	uaChromeWin7    = "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.5414.120 Safari/537.36"
	uaSafariMac     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
	uaChromeMac     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaFirefoxMac    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaChromeLinux   = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaFirefoxLinux  = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaChromeOS      = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaChromeAndroid = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	uaChromeAndTab  = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaSamsung       = "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"
	uaFirefoxAnd    = "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"
	uaFirefoxAndTab = "Mozilla/5.0 (Android 14; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0"
	uaSafariIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"
	uaChromeIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
	uaSafariIPad    = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
	uaChromeIPadMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
	uaXbox          = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edge/44.18363.8131"
	uaGooglebot     = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaGooglebotMob  = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaBingbot       = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
	uaHeadless      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
	uaPhantom       = "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1"
	uaCurl          = "curl/8.4.0"
	uaPyRequests    = "python-requests/2.31.0"
	uaGoHTTP        = "Go-http-client/1.1"
)

func newTestParser(t testing.TB, opts Options) *Parser {
	t.Helper()
	p, err := NewParser(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestParseUserAgents(t *testing.T) {
	p := newTestParser(t, Options{})
	desktop := func(b, bv, os, osv string) Info {
		return Info{Browser: b, BrowserVersion: bv, OS: os, OSVersion: osv, Type: "desktop"}
	}
	withType := func(i Info, typ string) Info { i.Type = typ; return i }
	bot := func(i Info, match string) Info { i.Type, i.Bot, i.BotMatch = "bot", true, match; return i }
	tests := []struct {
		name, ua string
		want     Info
	}{
		{"chrome windows", uaChromeWin, desktop("Chrome", "131.0.0", "Windows", "10")},
		{"firefox windows", uaFirefoxWin, desktop("Firefox", "133.0", "Windows", "10")},
		{"edge windows", uaEdgeWin, desktop("Edge", "131.0.0", "Windows", "10")},
		{"chrome windows 7", uaChromeWin7, desktop("Chrome", "109.0.5414", "Windows", "7")},
		{"safari macos", uaSafariMac, desktop("Safari", "17.1", "Mac OS X", "10.15.7")},
		{"chrome macos", uaChromeMac, desktop("Chrome", "131.0.0", "Mac OS X", "10.15.7")},
		{"firefox macos", uaFirefoxMac, desktop("Firefox", "133.0", "Mac OS X", "10.15")},
		{"chrome linux", uaChromeLinux, desktop("Chrome", "131.0.0", "Linux", "")},
		{"firefox ubuntu", uaFirefoxLinux, desktop("Firefox", "133.0", "Ubuntu", "")},
		{"chrome os", uaChromeOS, desktop("Chrome", "131.0.0", "Chrome OS", "14541.0.0")},
		{"chrome android", uaChromeAndroid, withType(desktop("Chrome Mobile", "131.0.0", "Android", "10"), "mobile")},
		{"chrome android tablet", uaChromeAndTab, withType(desktop("Chrome", "131.0.0", "Android", "10"), "tablet")},
		{"samsung internet", uaSamsung, withType(desktop("Samsung Internet", "25.0", "Android", "14"), "mobile")},
		{"firefox android", uaFirefoxAnd, withType(desktop("Firefox Mobile", "133.0", "Android", "14"), "mobile")},
		{"firefox android tablet", uaFirefoxAndTab, withType(desktop("Firefox Mobile", "133.0", "Android", "14"), "tablet")},
		{"safari iphone", uaSafariIPhone, withType(desktop("Mobile Safari", "17.1.2", "iOS", "17.1.2"), "mobile")},
		{"chrome iphone", uaChromeIPhone, withType(desktop("Chrome Mobile iOS", "131.0.6778", "iOS", "17.1"), "mobile")},
		{"safari ipad", uaSafariIPad, withType(desktop("Mobile Safari", "16.6", "iOS", "16.6"), "tablet")},
		{"chrome ipad as mac", uaChromeIPadMac, withType(desktop("Chrome Mobile iOS", "131.0.6778", "iOS", ""), "tablet")},
		{"xbox", uaXbox, withType(desktop("Edge", "44.18363.8131", "Windows", "10"), "other")},
		{"googlebot", uaGooglebot, bot(desktop("Googlebot", "2.1", "Other", ""), "uap:spider")},
		{"googlebot smartphone", uaGooglebotMob, bot(desktop("Googlebot", "2.1", "Android", "6.0.1"), "uap:spider")},
		{"curl", uaCurl, bot(desktop("curl", "8.4.0", "Other", ""), "curl/")},
		{"python requests", uaPyRequests, bot(desktop("Python Requests", "2.31", "Other", ""), "python-requests")},
		{"go http client", uaGoHTTP, bot(desktop("Go-http-client", "1.1", "Other", ""), "go-http-client")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, p.Parse(tt.ua, nil)); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.ua, diff)
			}
		})
	}
}

func TestParseHeadless(t *testing.T) {
	p := newTestParser(t, Options{})
	for _, tt := range []struct{ ua, match string }{
		{uaHeadless, "headlesschrome"},
		{uaPhantom, "phantomjs"},
		{uaChromeWin + " Puppeteer", "puppeteer"},
		{uaChromeLinux + " (Selenium)", "selenium"},
	} {
		t.Run(tt.match, func(t *testing.T) {
			got := p.Parse(tt.ua, nil)
			if !got.Headless || !got.Bot || got.Type != "bot" || got.BotMatch != tt.match {
				t.Errorf("Parse(%q) = %+v, want headless bot matched by %q", tt.ua, got, tt.match)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	p := newTestParser(t, Options{})
	for _, tt := range []struct{ name, ua string }{
		{"empty", ""},
		{"spaces", "   "},
		{"short", "Mozilla"},
		{"no product token", "hello there general kenobi"},
		{"control byte", "Mozilla/5.0 (Windows NT 10.0)\x01 Chrome/131"},
		{"invalid utf8", "Mozilla/5.0 (Windows NT 10.0) \xff\xfe Chrome/131"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Parse(tt.ua, nil)
			if !got.Malformed || !got.Bot || got.Type != "bot" || got.BotMatch != "malformed" {
				t.Errorf("Parse(%q) = %+v, want a malformed bot", tt.ua, got)
			}
		})
	}
	if got := p.Parse(uaCurl, nil); got.Malformed {
		t.Errorf("Parse(%q) is malformed", uaCurl)
	}
}

// TestParseLongUserAgent checks that a huge header is parsed on its first
// bytes only and still recognised.
func TestParseLongUserAgent(t *testing.T) {
	p := newTestParser(t, Options{})
	long := uaChromeWin + " " + string(make([]byte, 100000))
	got := p.Parse(long, nil)
	if got.Browser != "Chrome" || got.OS != "Windows" {
		t.Errorf("Parse(long) = %+v", got)
	}
}

func writeCrawlers(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crawler-user-agents.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// crawlersJSON has the shape of the crawler-user-agents package's file:
// plain-string patterns, regular expressions, anchors and extra members.
const crawlersJSON = `[
  {
    "pattern": "Googlebot\\/",
    "url": "http://www.google.com/bot.html",
    "instances": ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"]
  },
  {"pattern": "AhrefsBot", "addition_date": "2014/01/01", "instances": []},
  {"pattern": "S[eE][mM]rushBot", "instances": ["Mozilla/5.0 (compatible; SemrushBot/7~bl)"]},
  {"pattern": "^Zorro", "instances": [], "tags": ["search"]},
  {"pattern": "Go", "instances": []}
]`

func TestCrawlers(t *testing.T) {
	p := newTestParser(t, Options{CrawlersFile: writeCrawlers(t, crawlersJSON)})
	if got := p.Crawlers(); got != 5 {
		t.Errorf("Crawlers() = %d, want 5", got)
	}
	tests := []struct{ ua, match string }{
		{"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot"},
		{"Mozilla/5.0 (compatible; SEMrushBot/7~bl; +http://www.semrush.com/bot.html)", "S[eE][mM]rushBot"},
		{"Zorro/1.0 (fetcher)", "^Zorro"},
		{"Mozilla/5.0 (X11; Linux x86_64) Zorro/1.0", ""},
		{"AhrefsBot/7.0 Apache-HttpClient/4.5.14 (Java/17.0.9)", "java/"}, // built-in markers first
		{"Gosh/1.0 (a very small client)", "Go"},
		{uaChromeWin, ""},
		{uaSafariIPhone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.ua, func(t *testing.T) {
			got := p.Parse(tt.ua, nil)
			if got.BotMatch != tt.match || got.Bot != (tt.match != "") {
				t.Errorf("Parse(%q): Bot %v BotMatch %q, want %q", tt.ua, got.Bot, got.BotMatch, tt.match)
			}
		})
	}
}

func TestCrawlersFileErrors(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"not an array", `{"pattern": "x"}`, ": want a JSON array of objects: json: cannot unmarshal object"},
		{"bad regexp", "[\n {\"pattern\": \"ok\"},\n {\"pattern\": \"a(b\"}\n]",
			`: entry 1 "a(b": error parsing regexp: missing closing ): ` + "`a(b`"},
		{"no pattern", "[\n {\"url\": \"x\"}\n]", `: entry 0: no "pattern" member`},
		{"empty pattern", "[\n\n {\"pattern\": \"\"}\n]", `: entry 0 "": empty pattern`},
		{"wrong type", "[\n {\"pattern\": 3}\n]", ": want a JSON array of objects: json: cannot unmarshal number"},
		{"truncated", "[\n {\"pattern\": \"x\"},\n", ": want a JSON array of objects: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeCrawlers(t, tt.content)
			_, err := NewParser(Options{CrawlersFile: path})
			if err == nil {
				t.Fatal("no error")
			}
			if got, want := err.Error(), "crawler patterns "+path+tt.want; !strings.HasPrefix(got, want) {
				t.Errorf("error = %q, want prefix %q", got, want)
			}
		})
	}
	if _, err := NewParser(Options{CrawlersFile: filepath.Join(t.TempDir(), "none.json")}); err == nil {
		t.Error("missing file: no error")
	}
}

// TestCacheEquivalence checks that cached and uncached parsers answer alike,
// for the first (cold) and a later (warm) call.
func TestCacheEquivalence(t *testing.T) {
	cached := newTestParser(t, Options{CacheSize: 100})
	uncached := newTestParser(t, Options{CacheSize: -1})
	for _, ua := range []string{uaChromeWin, uaSafariIPad, uaCurl, ""} {
		want := uncached.Parse(ua, nil)
		for range 2 {
			if diff := cmp.Diff(want, cached.Parse(ua, nil)); diff != "" {
				t.Errorf("Parse(%q) cached (-uncached +cached):\n%s", ua, diff)
			}
			cached.cache.Wait()
		}
	}
	if _, ok := cached.cache.Get(uaChromeWin); !ok {
		t.Error("user agent not cached")
	}
	cached.Close()
	if diff := cmp.Diff(uncached.Parse(uaCurl, nil), cached.Parse(uaCurl, nil)); diff != "" {
		t.Errorf("Parse after Close (-want +got):\n%s", diff)
	}
}

func TestWarmParseDoesNotAllocate(t *testing.T) {
	p := newTestParser(t, Options{})
	h := headers{
		"sec-ch-ua":                   brands131,
		"sec-ch-ua-full-version-list": full131,
		"sec-ch-ua-platform":          `"Windows"`,
		"sec-ch-ua-platform-version":  `"15.0.0"`,
		"sec-ch-ua-mobile":            "?0",
	}
	p.Parse(uaChromeWin, h.get)
	p.cache.Wait()
	allocs := testing.AllocsPerRun(100, func() { p.Parse(uaChromeWin, h.get) })
	if allocs != 0 {
		t.Errorf("warm Parse allocates %v times", allocs)
	}
}

func TestParseConcurrent(t *testing.T) {
	p := newTestParser(t, Options{CacheSize: 4})
	uas := []string{uaChromeWin, uaFirefoxWin, uaSafariIPhone, uaCurl, uaGooglebot, uaSafariIPad}
	want := make([]Info, len(uas))
	for i, ua := range uas {
		want[i] = p.Parse(ua, nil)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				k := (g + i) % len(uas)
				if got := p.Parse(uas[k], nil); got != want[k] {
					t.Errorf("Parse(%q) = %+v, want %+v", uas[k], got, want[k])
				}
			}
		})
	}
	wg.Wait()
}

// TestPrefilterMatchesUAP checks that skipping patterns never changes
// uap-go's answer.
func TestPrefilterMatchesUAP(t *testing.T) {
	p := newTestParser(t, Options{CacheSize: -1})
	uas := []string{
		uaChromeWin, uaFirefoxWin, uaEdgeWin, uaChromeWin7, uaSafariMac, uaChromeMac, uaFirefoxMac,
		uaChromeLinux, uaFirefoxLinux, uaChromeOS, uaChromeAndroid, uaChromeAndTab, uaSamsung,
		uaFirefoxAnd, uaFirefoxAndTab, uaSafariIPhone, uaChromeIPhone, uaSafariIPad,
		uaChromeIPadMac, uaXbox, uaGooglebot, uaGooglebotMob, uaBingbot, uaHeadless, uaPhantom,
		uaCurl, uaPyRequests, uaGoHTTP, "okhttp/4.12.0", "Java/17.0.2", "Wget/1.21.4",
		"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Linux; Android 9; AFTKA Build/PS7233) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.102 Mobile Safari/537.36",
		"Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/441.0.0.28.108;FBBV/555;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/80]",
		"Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.14977",
		"Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54",
		"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
		"Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)",
		"Mozilla/5.0 (KIOSK Kelvin \u212a) Gecko Spi\u017fer", // runes that case-fold to ASCII
		"", "x", "hello world",
	}
	for _, ua := range uas {
		want := result{*p.uap.ParseUserAgent(ua), *p.uap.ParseOs(ua), *p.uap.ParseDevice(ua)}
		if diff := cmp.Diff(want, p.filter.parse(ua), cmp.AllowUnexported(result{})); diff != "" {
			t.Errorf("prefilter.parse(%q) (-uap +prefilter):\n%s", ua, diff)
		}
	}
}

// TestPrefilterSkipsMostPatterns guards the point of the prefilter: for a
// common browser, nearly every pattern is ruled out by its literals.
func TestPrefilterSkipsMostPatterns(t *testing.T) {
	p := newTestParser(t, Options{CacheSize: -1})
	f := p.filter
	fd := f.scan(uaChromeWin, strings.ToLower(uaChromeWin), true)
	tried, total := 0, 0
	for _, needs := range [][]need{f.ua, f.os, f.dev} {
		for _, n := range needs {
			total++
			if n.may(fd) {
				tried++
			}
		}
	}
	if tried*10 > total {
		t.Errorf("prefilter lets %d of %d patterns run for Chrome", tried, total)
	}
}

// headers is a header map with lower-case names, as Parse expects.
type headers map[string]string

func (h headers) get(name string) string { return h[name] }
