package device

import (
	"encoding/binary"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Fingerprint is the stable device id: an xxhash64 over the client's device
// id when it sent one, else over the user agent, accept-language, timezone
// and screen. Fields are length-coded, so no two different inputs can run
// together into the same bytes, and the two forms are tagged apart so a
// device id cannot imitate a header combination.
//
// Browsers update every few weeks. So that an update does not make every
// known device look new, version numbers in the user agent that follow a
// '/', "rv:" or "OS " (Chrome/131.0.0.0, rv:133.0, iPhone OS 17_1_2) are left
// out of the hash; the browser, the OS family and the rest stay in.
// Surrounding spaces of every field are ignored. It does not allocate.
func Fingerprint(deviceID, userAgent, acceptLanguage, timezone, screen string) uint64 {
	var d xxhash.Digest
	d.Reset()
	if id := strings.TrimSpace(deviceID); id != "" {
		writeField(&d, 'd', id)
		return d.Sum64()
	}
	writeField(&d, 'l', strings.TrimSpace(acceptLanguage))
	writeField(&d, 't', strings.TrimSpace(timezone))
	writeField(&d, 's', strings.TrimSpace(screen))
	// The user agent comes last with its length after it: read from the end,
	// the length says where it starts, so a prefix is not needed and the
	// stripped user agent is hashed in one pass without being copied.
	n := writeUA(&d, strings.TrimSpace(userAgent))
	var tail [9]byte
	tail[0] = 'u'
	binary.LittleEndian.PutUint64(tail[1:], uint64(n))
	_, _ = d.Write(tail[:])
	return d.Sum64()
}

// writeField hashes a tag, the length of s and s.
func writeField(d *xxhash.Digest, tag byte, s string) {
	var hdr [1 + binary.MaxVarintLen64]byte
	hdr[0] = tag
	n := binary.PutUvarint(hdr[1:], uint64(len(s)))
	_, _ = d.Write(hdr[:1+n])
	_, _ = d.WriteString(s)
}

// writeUA hashes the user agent without its version numbers and returns the
// number of bytes hashed.
func writeUA(d *xxhash.Digest, ua string) int {
	n, start := 0, 0
	for i := 0; i < len(ua); {
		if !versionFollows(ua, i) {
			i++
			continue
		}
		_, _ = d.WriteString(ua[start:i])
		n += i - start
		for i < len(ua) && isVersionByte(ua[i]) {
			i++
		}
		start = i
	}
	_, _ = d.WriteString(ua[start:])
	return n + len(ua) - start
}

// versionFollows reports whether a version number starts at ua[i].
func versionFollows(ua string, i int) bool {
	if i == 0 || ua[i] < '0' || ua[i] > '9' {
		return false
	}
	return ua[i-1] == '/' || i >= 3 && (ua[i-3:i] == "rv:" || ua[i-3:i] == "OS ")
}

func isVersionByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '.' || c == '_'
}

// FingerprintHex formats a fingerprint as 16 lower-case hex digits. The
// returned string is its only allocation.
func FingerprintHex(fp uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[fp&0xf]
		fp >>= 4
	}
	return string(b[:])
}
