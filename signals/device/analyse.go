package device

import (
	"strings"
	"unicode/utf8"
)

// entry is the cached analysis of one user agent: the Info it gives on its
// own and what the client hints are checked against.
type entry struct {
	info Info
	// chromium is true for a Chromium-based browser outside iOS, the only
	// clients that send the client hints applyHints reads.
	chromium bool
	// reduced is true when the browser version in the user agent is frozen
	// to MAJOR.0.0.0, so the hints' full version is worth taking.
	reduced bool
	// major is the Chromium major version from the "Chrome/" token.
	major string
	// platform is the sec-ch-ua-platform value that matches the user agent's
	// OS ("Windows", "macOS", ...), or "" when there is none to compare.
	platform string
}

// maxParseLen bounds the part of a user agent that the regular expressions
// see, so that a huge header cannot make a cold parse arbitrarily slow. Real
// user agents, in-app browsers included, stay well under it.
const maxParseLen = 512

// analyse computes the entry of a user agent; it is the cold path.
func (p *Parser) analyse(ua string) *entry {
	e := &entry{}
	info := &e.info
	if strings.TrimSpace(ua) == "" {
		info.Malformed, info.Bot, info.BotMatch, info.Type = true, true, "malformed", "bot"
		return e
	}
	s := ua
	if len(s) > maxParseLen {
		s = s[:maxParseLen]
	}
	r := p.filter.parse(s)
	info.Browser = r.ua.Family
	info.BrowserVersion = joinVersion(r.ua.Major, r.ua.Minor, r.ua.Patch)
	info.OS = r.os.Family
	info.OSVersion = joinVersion(r.os.Major, r.os.Minor, r.os.Patch, r.os.PatchMinor)
	lower := strings.ToLower(s)
	if iPadAsMac(s) {
		// The Macintosh token of iPadOS is a fixed lie; its version means
		// nothing.
		info.OS, info.OSVersion = "iOS", ""
	}
	info.Malformed = malformed(ua)
	p.detectBot(info, s, lower, r.dev.Family == "Spider")
	info.Type = deviceType(info, s, lower, r.dev.Brand)
	e.chromium, e.major = chromiumMajor(s)
	e.chromium = e.chromium && info.OS != "iOS"
	e.reduced = e.chromium && r.ua.Minor == "0" && (r.ua.Patch == "0" || r.ua.Patch == "")
	e.platform = hintPlatform(info.OS)
	return e
}

// joinVersion joins the non-empty version parts with dots, stopping at the
// first empty one.
func joinVersion(parts ...string) string {
	n := 0
	for n < len(parts) && parts[n] != "" {
		n++
	}
	return strings.Join(parts[:n], ".")
}

// iPadAsMac reports whether a Macintosh user agent carries a token that only
// iPadOS browsers send. Since iPadOS 13, Safari asks for desktop sites with a
// user agent identical to Safari on macOS; only WebKit views in apps (which
// keep "Mobile/") and the other iOS browsers (CriOS, FxiOS, EdgiOS) betray
// themselves.
func iPadAsMac(ua string) bool {
	// TODO: iPad Safari in desktop mode reads as macOS; it needs a client-side touch signal.
	if !strings.Contains(ua, "Macintosh") {
		return false
	}
	for _, tok := range []string{"Mobile/", "CriOS/", "FxiOS/", "EdgiOS/"} {
		if strings.Contains(ua, tok) {
			return true
		}
	}
	return false
}

// malformed reports whether ua is clearly not what a real client sends: too
// short, with control bytes or invalid UTF-8, or without any product/version
// token such as "Mozilla/5.0" or "curl/8.4.0".
func malformed(ua string) bool {
	if len(ua) < 10 || !utf8.ValidString(ua) {
		return true
	}
	product := false
	for i := 0; i < len(ua); i++ {
		c := ua[i]
		if c < 0x20 || c == 0x7f {
			return true
		}
		if c == '/' && i > 0 && i+1 < len(ua) && isTokenByte(ua[i-1]) && isTokenByte(ua[i+1]) {
			product = true
		}
	}
	return !product
}

func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// chromiumMajor reports whether ua is a Chromium-based browser and returns
// the major version of its "Chrome/" token.
func chromiumMajor(ua string) (bool, string) {
	i := strings.Index(ua, "Chrome/")
	if i < 0 {
		return false, ""
	}
	v := ua[i+len("Chrome/"):]
	n := 0
	for n < len(v) && '0' <= v[n] && v[n] <= '9' {
		n++
	}
	return n > 0, v[:n]
}

// deviceType classifies the device from the OS family and the user agent's
// tokens. uap-core's device families are too fine-grained (thousands of
// models) to map reliably, so only its tablet brand is used.
func deviceType(info *Info, ua, lower, devBrand string) string {
	switch {
	case info.Bot:
		return "bot"
	case containsAny(lower, tvMarkers):
		return "other"
	case strings.Contains(ua, "iPad") || strings.Contains(ua, "Tablet") ||
		devBrand == "Generic_Android_Tablet" || info.OS == "iOS" && iPadAsMac(ua) ||
		info.OS == "Android" && !strings.Contains(ua, "Mobile"):
		// Android browsers leave "Mobile" out on tablets, by Google's rule.
		return "tablet"
	case mobileOS[info.OS] || strings.Contains(ua, "Mobi"):
		return "mobile"
	case desktopOS[info.OS] || strings.Contains(info.OS, "Linux") || strings.Contains(info.OS, "BSD"):
		return "desktop"
	}
	return "other"
}

// tvMarkers are lower-case tokens of televisions, set-top boxes and consoles,
// which would otherwise read as Android tablets or Windows desktops.
var tvMarkers = []string{
	"smart-tv", "smarttv", "googletv", "android tv", "appletv", "crkey", "tizen", "web0s",
	"netcast", "hbbtv", "bravia", "; aft", "xbox", "playstation", "nintendo",
}

var mobileOS = map[string]bool{
	"iOS": true, "Android": true, "Windows Phone": true, "BlackBerry OS": true,
	"KaiOS": true, "Firefox OS": true, "Symbian OS": true, "HarmonyOS": true,
}

var desktopOS = map[string]bool{
	"Windows": true, "Mac OS X": true, "Chrome OS": true, "Ubuntu": true, "Fedora": true,
	"Debian": true, "Linux Mint": true, "openSUSE": true, "Red Hat": true, "Solaris": true,
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
