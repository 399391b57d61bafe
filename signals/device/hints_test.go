package device

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Client hints as Chrome 131 sends them.
const (
	brands131   = `"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`
	full131     = `"Google Chrome";v="131.0.6778.86", "Chromium";v="131.0.6778.86", "Not_A Brand";v="24.0.0.0"`
	edgeBrands  = `"Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24"`
	edgeFull    = `"Microsoft Edge";v="131.0.2903.86", "Chromium";v="131.0.6778.86", "Not_A Brand";v="24.0.0.0"`
	braveFull   = `"Brave";v="131.0.0.0", "Chromium";v="131.0.6778.86", "Not_A Brand";v="24.0.0.0"`
	greaseFull  = `"Not)A;Brand";v="99.0.0.0", "Google Chrome";v="131.0.6778.86", "Chromium";v="131.0.6778.86"`
	headlessBr  = `"HeadlessChrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`
	brands120   = `"Google Chrome";v="120", "Chromium";v="120", "Not_A Brand";v="24"`
	quotedWin   = `"Windows"`
	quotedMac   = `"macOS"`
	quotedAnd   = `"Android"`
	quotedLinux = `"Linux"`
)

func TestParseHints(t *testing.T) {
	p := newTestParser(t, Options{})
	info := func(b, bv, os, osv, typ string) Info {
		return Info{Browser: b, BrowserVersion: bv, OS: os, OSVersion: osv, Type: typ}
	}
	mismatch := func(i Info) Info { i.HintsMismatch = true; return i }
	tests := []struct {
		name, ua string
		h        headers
		want     Info
	}{
		{"windows 11", uaChromeWin, headers{
			"sec-ch-ua": brands131, "sec-ch-ua-full-version-list": full131,
			"sec-ch-ua-platform": quotedWin, "sec-ch-ua-platform-version": `"15.0.0"`, "sec-ch-ua-mobile": "?0",
		}, info("Chrome", "131.0.6778.86", "Windows", "11", "desktop")},
		{"windows 10", uaChromeWin, headers{
			"sec-ch-ua-platform": quotedWin, "sec-ch-ua-platform-version": `"10.0.0"`,
		}, info("Chrome", "131.0.0", "Windows", "10", "desktop")},
		{"windows 8.1 keeps user agent", uaChromeWin7, headers{
			"sec-ch-ua-platform": quotedWin, "sec-ch-ua-platform-version": `"0.3.0"`,
		}, info("Chrome", "109.0.5414", "Windows", "7", "desktop")},
		{"macos version", uaChromeMac, headers{
			"sec-ch-ua-full-version-list": full131, "sec-ch-ua-platform": quotedMac,
			"sec-ch-ua-platform-version": `"14.5.0"`,
		}, info("Chrome", "131.0.6778.86", "Mac OS X", "14.5", "desktop")},
		{"android reduced", uaChromeAndroid, headers{
			"sec-ch-ua-full-version-list": full131, "sec-ch-ua-platform": quotedAnd,
			"sec-ch-ua-platform-version": `"14.0.0"`, "sec-ch-ua-mobile": "?1",
		}, info("Chrome Mobile", "131.0.6778.86", "Android", "14", "mobile")},
		{"android desktop site", uaChromeLinux, headers{
			"sec-ch-ua-platform": quotedAnd, "sec-ch-ua-platform-version": `"14.0.0"`, "sec-ch-ua-mobile": "?0",
		}, info("Chrome", "131.0.0", "Android", "14", "mobile")},
		{"chrome os", uaChromeOS, headers{
			"sec-ch-ua-platform": `"Chrome OS"`, "sec-ch-ua-platform-version": `"16002.44.0"`,
		}, info("Chrome", "131.0.0", "Chrome OS", "16002.44", "desktop")},
		{"linux version ignored", uaChromeLinux, headers{
			"sec-ch-ua-platform": quotedLinux, "sec-ch-ua-platform-version": `"6.5.0"`,
		}, info("Chrome", "131.0.0", "Linux", "", "desktop")},
		{"edge full version", uaEdgeWin, headers{
			"sec-ch-ua": edgeBrands, "sec-ch-ua-full-version-list": edgeFull,
		}, info("Edge", "131.0.2903.86", "Windows", "10", "desktop")},
		{"brave falls back to chromium", uaChromeWin, headers{"sec-ch-ua-full-version-list": braveFull},
			info("Chrome", "131.0.6778.86", "Windows", "10", "desktop")},
		{"grease brand with semicolon", uaChromeWin, headers{"sec-ch-ua-full-version-list": greaseFull},
			info("Chrome", "131.0.6778.86", "Windows", "10", "desktop")},
		{"unknown platform ignored", uaChromeWin, headers{"sec-ch-ua-platform": `"Unknown"`},
			info("Chrome", "131.0.0", "Windows", "10", "desktop")},
		{"garbage hints ignored", uaChromeWin, headers{
			"sec-ch-ua": `Chrome 131`, "sec-ch-ua-full-version-list": `"Google Chrome;v=131`,
		}, info("Chrome", "131.0.0", "Windows", "10", "desktop")},
		{"full version of another major ignored", uaChromeWin, headers{
			"sec-ch-ua-full-version-list": `"Google Chrome";v="130.0.6723.116", "Chromium";v="130.0.6723.116"`,
		}, info("Chrome", "131.0.0", "Windows", "10", "desktop")},
		{"firefox ignores hints", uaFirefoxWin, headers{
			"sec-ch-ua": brands131, "sec-ch-ua-platform": quotedMac, "sec-ch-ua-mobile": "?1",
		}, info("Firefox", "133.0", "Windows", "10", "desktop")},
		{"ios chrome ignores hints", uaChromeIPhone, headers{"sec-ch-ua-platform": quotedWin},
			info("Chrome Mobile iOS", "131.0.6778", "iOS", "17.1", "mobile")},
		{"platform mismatch", uaChromeWin, headers{
			"sec-ch-ua-platform": quotedLinux, "sec-ch-ua-platform-version": `"6.5.0"`,
		}, mismatch(info("Chrome", "131.0.0", "Windows", "10", "desktop"))},
		{"emulated phone", uaChromeAndroid, headers{
			"sec-ch-ua-platform": quotedWin, "sec-ch-ua-mobile": "?1",
		}, mismatch(info("Chrome Mobile", "131.0.0", "Android", "10", "mobile"))},
		{"version mismatch", uaChromeWin, headers{"sec-ch-ua": brands120},
			mismatch(info("Chrome", "131.0.0", "Windows", "10", "desktop"))},
		{"mobile hint on desktop", uaChromeWin, headers{"sec-ch-ua-mobile": "?1"},
			mismatch(info("Chrome", "131.0.0", "Windows", "10", "desktop"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, p.Parse(tt.ua, tt.h.get)); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseHintsHeadless(t *testing.T) {
	p := newTestParser(t, Options{})
	// New headless mode with a user agent overridden to look like Chrome.
	got := p.Parse(uaChromeWin, headers{"sec-ch-ua": headlessBr}.get)
	want := Info{Browser: "Chrome", BrowserVersion: "131.0.0", OS: "Windows", OSVersion: "10",
		Type: "bot", Bot: true, Headless: true, BotMatch: "hints:headless"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	// The cached entry must not keep what one request's hints said.
	if got := p.Parse(uaChromeWin, nil); got.Bot {
		t.Errorf("hints leaked into the cache: %+v", got)
	}
}

func TestBrandVersion(t *testing.T) {
	tests := []struct {
		list, brand, want string
		ok                bool
	}{
		{full131, "Google Chrome", "131.0.6778.86", true},
		{full131, "Chromium", "131.0.6778.86", true},
		{full131, "Not_A Brand", "24.0.0.0", true},
		{full131, "Microsoft Edge", "", false},
		{greaseFull, "Google Chrome", "131.0.6778.86", true},
		{`"A";v="1";x="2", "B";x="3";v="4"`, "B", "4", true},
		{`"A"`, "A", "", false},
		{``, "A", "", false},
		{`"unterminated`, "unterminated", "", false},
		{full131, "", "", false},
	}
	for _, tt := range tests {
		got, ok := brandVersion(tt.list, tt.brand)
		if got != tt.want || ok != tt.ok {
			t.Errorf("brandVersion(%q, %q) = %q, %v; want %q, %v", tt.list, tt.brand, got, ok, tt.want, tt.ok)
		}
	}
}
