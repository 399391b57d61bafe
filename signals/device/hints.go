package device

import (
	"strconv"
	"strings"
)

// applyHints refines info with the client hints of a Chromium-based browser
// and flags hints that contradict the user agent. It does not allocate: every
// value it sets is a constant or a substring of a header.
func applyHints(info *Info, e *entry, header func(name string) string) {
	brands := header("sec-ch-ua")
	if strings.Contains(brands, "HeadlessChrome") {
		if !info.Bot {
			info.BotMatch = "hints:headless"
		}
		info.Headless, info.Bot, info.Type = true, true, "bot"
	}
	if v, ok := brandVersion(brands, "Chromium"); ok && majorOf(v) != e.major {
		info.HintsMismatch = true
	}
	if e.reduced {
		fullVersion(info, e, header("sec-ch-ua-full-version-list"))
	}
	platform := unquote(header("sec-ch-ua-platform"))
	if platform != "" && platform != "Unknown" && e.platform != "" {
		hintedOS(info, e, platform, unquote(header("sec-ch-ua-platform-version")))
	}
	if header("sec-ch-ua-mobile") == "?1" && info.Type == "desktop" {
		info.HintsMismatch = true
	}
}

// fullVersion takes the browser's full version from the full version list,
// as long as its major version agrees with the user agent's.
func fullVersion(info *Info, e *entry, list string) {
	if list == "" {
		return
	}
	uaMajor := majorOf(info.BrowserVersion)
	if v, ok := brandVersion(list, brandOf(info.Browser)); ok && majorOf(v) == uaMajor {
		info.BrowserVersion = v
		return
	}
	// Brave, Chromium builds and embedders without a brand of their own
	// report the engine's version, which is the browser's when the user
	// agent shows Chrome.
	if v, ok := brandVersion(list, "Chromium"); ok && majorOf(v) == uaMajor && uaMajor == e.major {
		info.BrowserVersion = v
	}
}

// hintedOS reconciles the sec-ch-ua-platform hint with the OS the user agent
// names and takes the hint's OS version, which reduced user agents freeze.
func hintedOS(info *Info, e *entry, platform, version string) {
	switch {
	case platform == e.platform || platform == "Chromium OS" && e.platform == "Chrome OS":
	case platform == "Android" && e.platform == "Linux":
		// Chrome on Android asking for the desktop site sends a Linux user
		// agent but keeps its real platform in the hints.
		// TODO: phone or tablet is unknown in desktop-site mode; "mobile" is the likelier.
		info.OS, info.OSVersion, info.Type = "Android", "", "mobile"
	default:
		info.HintsMismatch = true
		return
	}
	switch platform {
	case "Windows":
		// Windows 10 and 11 both say "Windows NT 10.0"; the platform version
		// tells them apart: 1–10 is Windows 10, 13 and above Windows 11, and
		// 0 is Windows 7, 8 or 8.1, which the user agent already names.
		if major, err := strconv.Atoi(majorOf(version)); err == nil && major >= 13 {
			info.OSVersion = "11"
		} else if err == nil && major >= 1 {
			info.OSVersion = "10"
		}
	case "macOS", "Android", "Chrome OS", "Chromium OS":
		if v := trimZeros(version); v != "" {
			info.OSVersion = v
		}
	}
}

// hintPlatform returns the sec-ch-ua-platform value that a browser on the OS
// family os sends, or "" when the hints are not compared.
func hintPlatform(os string) string {
	switch {
	case os == "Windows", os == "Android", os == "Chrome OS":
		return os
	case os == "Mac OS X":
		return "macOS"
	case os == "Linux" || desktopOS[os] && os != "Solaris":
		return "Linux"
	}
	return ""
}

// brandOf returns the sec-ch-ua brand of a uap-core browser family.
func brandOf(browser string) string {
	switch browser {
	case "Chrome", "Chrome Mobile", "HeadlessChrome":
		return "Google Chrome"
	case "Edge", "Edge Mobile":
		return "Microsoft Edge"
	case "Opera", "Opera Mobile":
		return "Opera"
	case "Samsung Internet":
		return "Samsung Internet"
	case "Yandex Browser":
		return "YaBrowser"
	case "Chrome Mobile WebView":
		return "Android WebView"
	case "Chromium":
		return "Chromium"
	}
	return ""
}

// brandVersion returns the version of brand in a sec-ch-ua style list such
// as `"Google Chrome";v="131.0.6778.86", "Chromium";v="131.0.6778.86"`.
func brandVersion(list, brand string) (string, bool) {
	if brand == "" {
		return "", false
	}
	for list != "" {
		b, v, rest, ok := nextBrand(list)
		if !ok {
			return "", false
		}
		if b == brand {
			return v, v != ""
		}
		list = rest
	}
	return "", false
}

// nextBrand splits the first member off a brand list. Brand names are quoted
// and may hold ';' or ')' (Chrome's GREASE brands do), never '"' or ','.
func nextBrand(s string) (brand, version, rest string, ok bool) {
	s = strings.TrimLeft(s, " \t,")
	if len(s) < 2 || s[0] != '"' {
		return "", "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", "", false
	}
	brand, params := s[1:1+end], s[2+end:]
	if c := strings.IndexByte(params, ','); c >= 0 {
		params, rest = params[:c], params[c+1:]
	}
	if i := strings.Index(params, `v="`); i >= 0 {
		v := params[i+3:]
		if j := strings.IndexByte(v, '"'); j >= 0 {
			version = v[:j]
		}
	}
	return brand, version, rest, true
}

// majorOf returns a version's first dot-separated part.
func majorOf(v string) string {
	if i := strings.IndexByte(v, '.'); i >= 0 {
		return v[:i]
	}
	return v
}

// trimZeros drops trailing ".0" parts: "14.0.0" is "14", "14.5.0" is "14.5".
func trimZeros(v string) string {
	for strings.HasSuffix(v, ".0") {
		v = v[:len(v)-2]
	}
	return v
}

// unquote removes the double quotes of a structured-header string.
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
