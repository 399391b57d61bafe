package device

import (
	"strconv"
	"testing"
)

type fpInput struct{ id, ua, lang, tz, screen string }

func (in fpInput) fp() uint64 { return Fingerprint(in.id, in.ua, in.lang, in.tz, in.screen) }

var fpBase = fpInput{ua: uaChromeWin, lang: "en-GB,en;q=0.9", tz: "Europe/London", screen: "1920x1080"}

// TestFingerprintStable lists changes that must keep the same device id.
func TestFingerprintStable(t *testing.T) {
	base := fpBase.fp()
	tests := []struct {
		name string
		in   fpInput
	}{
		{"same input", fpBase},
		{"chrome update", fpInput{ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36",
			lang: fpBase.lang, tz: fpBase.tz, screen: fpBase.screen}},
		{"surrounding spaces", fpInput{ua: " " + fpBase.ua + "\t", lang: fpBase.lang + " ",
			tz: " " + fpBase.tz, screen: fpBase.screen}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.fp(); got != base {
				t.Errorf("Fingerprint = %x, want %x", got, base)
			}
		})
	}
	firefox := fpInput{ua: uaFirefoxWin, lang: "de", tz: "Europe/Berlin", screen: "2560x1440"}
	firefoxNext := firefox
	firefoxNext.ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:134.0) Gecko/20100101 Firefox/134.0"
	if firefox.fp() != firefoxNext.fp() {
		t.Error("Firefox update changed the fingerprint")
	}
	iphone := fpInput{ua: uaSafariIPhone, lang: "en-US", tz: "America/New_York", screen: "390x844"}
	iphoneNext := iphone
	iphoneNext.ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
	if iphone.fp() != iphoneNext.fp() {
		t.Error("iOS update changed the fingerprint")
	}
}

// TestFingerprintSensitive lists changes that must give another device id.
func TestFingerprintSensitive(t *testing.T) {
	with := func(f func(*fpInput)) fpInput { in := fpBase; f(&in); return in }
	tests := []struct {
		name string
		in   fpInput
	}{
		{"other browser", with(func(in *fpInput) { in.ua = uaEdgeWin })},
		{"other os", with(func(in *fpInput) { in.ua = uaChromeMac })},
		{"other language", with(func(in *fpInput) { in.lang = "fr-FR,fr;q=0.9" })},
		{"other timezone", with(func(in *fpInput) { in.tz = "Europe/Paris" })},
		{"other screen", with(func(in *fpInput) { in.screen = "1920x1200" })},
		{"no screen", with(func(in *fpInput) { in.screen = "" })},
		{"field moved", with(func(in *fpInput) { in.lang, in.tz = in.tz, in.lang })},
		{"device id", with(func(in *fpInput) { in.id = "d-123" })},
	}
	base := fpBase.fp()
	seen := map[uint64]string{base: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.fp()
			if prev, dup := seen[got]; dup {
				t.Errorf("Fingerprint = %x, same as %s", got, prev)
			}
			seen[got] = tt.name
		})
	}
}

// TestFingerprintSeparators checks that bytes cannot move between fields.
func TestFingerprintSeparators(t *testing.T) {
	pairs := [][2]fpInput{
		{{ua: "ab", lang: "c"}, {ua: "a", lang: "bc"}},
		{{lang: "en", tz: ""}, {lang: "", tz: "en"}},
		{{tz: "x", screen: ""}, {tz: "", screen: "x"}},
		{{ua: "a\x00", lang: "b"}, {ua: "a", lang: "\x00b"}},
	}
	for _, p := range pairs {
		if p[0].fp() == p[1].fp() {
			t.Errorf("%+v and %+v collide", p[0], p[1])
		}
	}
	// Stripped versions leave the rest of the user agent in place.
	if (fpInput{ua: "Chrome/1 x"}).fp() != (fpInput{ua: "Chrome/ x"}).fp() {
		t.Error("version digits after '/' are hashed")
	}
}

func TestFingerprintDeviceID(t *testing.T) {
	a := Fingerprint("cookie-1", uaChromeWin, "en", "UTC", "1x1")
	b := Fingerprint("cookie-1", uaFirefoxMac, "de", "Europe/Berlin", "2x2")
	if a != b {
		t.Error("with a device id, the headers must not matter")
	}
	if Fingerprint(" cookie-1 ", "", "", "", "") != a {
		t.Error("device id spaces not ignored")
	}
	if Fingerprint("cookie-2", uaChromeWin, "en", "UTC", "1x1") == a {
		t.Error("different device ids collide")
	}
	// A device id may not imitate the hashed headers.
	if Fingerprint("", "d", "", "", "") == Fingerprint("d", "", "", "", "") {
		t.Error("device id and user agent forms collide")
	}
}

func TestFingerprintHex(t *testing.T) {
	for _, fp := range []uint64{0, 1, 0xdeadbeef, 0x0123456789abcdef, ^uint64(0)} {
		got := FingerprintHex(fp)
		if len(got) != 16 {
			t.Errorf("FingerprintHex(%x) = %q, want 16 digits", fp, got)
		}
		if back, err := strconv.ParseUint(got, 16, 64); err != nil || back != fp {
			t.Errorf("FingerprintHex(%x) = %q, parses back to %x, %v", fp, got, back, err)
		}
	}
	if got := FingerprintHex(0xab); got != "00000000000000ab" {
		t.Errorf("FingerprintHex(0xab) = %q", got)
	}
	if a := testing.AllocsPerRun(100, func() { hexSink = FingerprintHex(42) }); a != 1 {
		t.Errorf("FingerprintHex allocates %v times, want 1", a)
	}
	if a := testing.AllocsPerRun(100, func() { fpBase.fp() }); a != 0 {
		t.Errorf("Fingerprint allocates %v times", a)
	}
}

// hexSink makes FingerprintHex's result escape, as it does in real use.
var hexSink string
