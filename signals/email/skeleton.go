package email

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// skeleton folds the characters of a lower-case local part that imitate
// Latin letters, in the spirit of the skeletons of Unicode UTS #39 but
// limited to what matters for Latin-script addresses:
//
//   - compatibility forms become their plain letters (NFKD): fullwidth
//     "ｐａｙ", mathematical "𝐩𝐚𝐲" and ligatures read as "pay";
//   - accents and other combining marks are dropped: "pâypál" reads as
//     "paypal";
//   - the Cyrillic, Greek, Armenian and Latin letters in homoglyphs map to
//     the Latin letter they look like: Cyrillic "а" is "a", Greek "ο" is "o",
//     Latin dotless "ı" is "i".
//
// Unlike UTS #39, digits are not folded into letters ("0" stays "0", "1" is
// not "l"): people choose such names on purpose, and folding them would merge
// many genuine accounts. Characters outside the table are kept as they are.
func skeleton(local string) string {
	if isASCII(local) {
		return local
	}
	var b strings.Builder
	b.Grow(len(local))
	for _, r := range norm.NFKD.String(local) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if l, ok := homoglyphs[r]; ok {
			r = l
		}
		b.WriteRune(r)
	}
	return b.String()
}

// homoglyphs maps lower-case letters of other scripts (and odd Latin ones)
// to the ASCII letter they are drawn like in common fonts.
var homoglyphs = map[rune]rune{
	// Cyrillic
	'а': 'a', 'е': 'e', 'і': 'i', 'ј': 'j', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y',
	'х': 'x', 'ѕ': 's', 'ԁ': 'd', 'һ': 'h', 'ӏ': 'l', 'ԛ': 'q', 'ԝ': 'w', 'ү': 'y',
	// Greek
	'α': 'a', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'υ': 'u', 'χ': 'x',
	'ϲ': 'c', 'ϳ': 'j',
	// Armenian
	'օ': 'o', 'ս': 'u', 'հ': 'h', 'ո': 'n',
	// Latin letters without a decomposition to their base letter
	'ı': 'i', 'ȷ': 'j', 'ɑ': 'a', 'ɡ': 'g', 'ɩ': 'i', 'ł': 'l', 'ø': 'o', 'đ': 'd',
	'ħ': 'h',
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
