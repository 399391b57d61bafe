package email

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in string
		want     Address
	}{
		{"plain", "alice@example.com", addr("alice", "example.com", "alice")},
		{"case and space", "  Alice.Smith@Example.COM\t", addr("alice.smith", "example.com", "alice.smith")},
		{"trailing dot", "alice@example.com.", addr("alice", "example.com", "alice")},
		{"custom domain keeps dots and tags", "a.b+c@example.com", addr("a.b+c", "example.com", "a.b+c")},
		{"gmail dots", "j.o.h.n@gmail.com", addr("john", "gmail.com", "john")},
		{"gmail tag", "john+shop@gmail.com", addr("john", "gmail.com", "john")},
		{"gmail dots tag case", "J.Doe+Newsletter@GMail.com", addr("jdoe", "gmail.com", "jdoe")},
		{"googlemail", "john.doe@googlemail.com", addr("johndoe", "gmail.com", "johndoe")},
		{"gmail dots after tag", "john+a.b@gmail.com", addr("john", "gmail.com", "john")},
		{"outlook tag", "john.doe+x@outlook.com", addr("john.doe", "outlook.com", "john.doe")},
		{"hotmail tag", "John+x@Hotmail.com", addr("john", "hotmail.com", "john")},
		{"live tag", "john+x@live.com", addr("john", "live.com", "john")},
		{"hotmail dash kept", "john-x@hotmail.com", addr("john-x", "hotmail.com", "john-x")},
		{"yahoo dash", "john-shopping@yahoo.com", addr("john", "yahoo.com", "john")},
		{"yahoo plus kept", "john+x@yahoo.com", addr("john+x", "yahoo.com", "john+x")},
		{"ymail dash", "jo.hn-x@ymail.com", addr("jo.hn", "ymail.com", "jo.hn")},
		{"protonmail tag", "j.d+x@protonmail.com", addr("j.d", "protonmail.com", "j.d")},
		{"proton.me tag", "jd+x@proton.me", addr("jd", "proton.me", "jd")},
		{"pm.me tag", "jd+x@pm.me", addr("jd", "pm.me", "jd")},
		{"fastmail tag", "jd+x@fastmail.com", addr("jd", "fastmail.com", "jd")},
		{"icloud tag", "jd+x@icloud.com", addr("jd", "icloud.com", "jd")},
		{"me.com tag", "jd+x@me.com", addr("jd", "me.com", "jd")},
		{"idn domain", "info@Bücher.de", addr("info", "xn--bcher-kva.de", "info")},
		{"idn domain fullwidth dot", "info@bücher。de", addr("info", "xn--bcher-kva.de", "info")},
		{"punycode domain", "info@XN--BCHER-KVA.de", addr("info", "xn--bcher-kva.de", "info")},
		{"japanese domain", "x@例え.テスト", addr("x", "xn--r8jz45g.xn--zckzah", "x")},
		{"eszett kept", "x@straße.de", addr("x", "xn--strae-oqa.de", "x")},
		{"unicode local", "Ünïcode@example.com", addr("ünïcode", "example.com", "unicode")},
		{"decomposed local to nfc", "u\u0308ber@example.com", addr("über", "example.com", "uber")},
		{"cyrillic a", "p\u0430ypal@example.com", addr("p\u0430ypal", "example.com", "paypal")},
		{"cyrillic upper", "\u0420\u0410YPAL@example.com", addr("\u0440\u0430ypal", "example.com", "paypal")},
		{"greek omicron", "g\u03bf\u03bfgle@example.com", addr("g\u03bf\u03bfgle", "example.com", "google")},
		{"fullwidth", "ｐａｙｐａｌ@example.com", addr("ｐａｙｐａｌ", "example.com", "paypal")},
		{"accents", "pâypál@example.com", addr("pâypál", "example.com", "paypal")},
		{"dotless i", "\u0131nfo@example.com", addr("\u0131nfo", "example.com", "info")},
		{"digits not folded", "paypa1@example.com", addr("paypa1", "example.com", "paypa1")},
		{"atext specials", atext + "@example.com", addr(atext, "example.com", atext)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalize(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// atext is a local part with every special character RFC 5322 allows.
const atext = "a!#$%&'*/=?^_`{|}~-b"

func addr(local, domain, skel string) Address {
	return Address{Normalized: local + "@" + domain, Local: local, Domain: domain, Skeleton: skel}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty"},
		{"blank", "  \t ", "empty"},
		{"no at", "alice.example.com", "no @"},
		{"two ats", "alice@bob@example.com", "more than one @"},
		{"double at", "alice@@example.com", "more than one @"},
		{"quoted", `"alice smith"@example.com`, "quoted local part not supported"},
		{"quoted with at", `"a@b"@example.com`, "quoted local part not supported"},
		{"empty local", "@example.com", "empty local part"},
		{"empty domain", "alice@", "invalid domain: empty"},
		{"domain literal", "alice@[192.0.2.1]", "invalid domain: address literals not supported"},
		{"single label", "alice@localhost", "invalid domain: needs at least two labels"},
		{"ip address", "alice@192.0.2.1", "invalid domain: numeric top-level label"},
		{"empty label", "alice@example..com", "invalid domain: empty label"},
		{"leading hyphen", "alice@-example.com", "invalid domain: label starts or ends with a hyphen"},
		{"double hyphen", "alice@ab--cd.com", "invalid domain: hyphens in third and fourth place"},
		{"underscore", "alice@ex_ample.com", "invalid domain: not a valid internationalised domain name"},
		{"long label", "alice@" + strings.Repeat("a", 64) + ".com", "invalid domain: label longer than 63 bytes"},
		{"long domain", "a@" + strings.Repeat("abcdefghi.", 26) + "com", "invalid domain: longer than 253 bytes"},
		{"invalid punycode", "alice@xn--zz.com", "invalid domain: not a valid internationalised domain name"},
		{"ascii punycode", "alice@xn--abc-.com", "invalid domain: not a valid internationalised domain name"},
		{"space in local", "alice smith@example.com", "invalid character in local part"},
		{"comma in local", "alice,smith@example.com", "invalid character in local part"},
		{"zero width joiner", "pay\u200dpal@example.com", "invalid character in local part"},
		{"invalid utf8", "al\xffice@example.com", "local part is not valid UTF-8"},
		{"leading dot", ".alice@example.com", "local part has a leading, trailing or double dot"},
		{"double dot", "al..ice@example.com", "local part has a leading, trailing or double dot"},
		{"long local", strings.Repeat("a", 65) + "@example.com", "local part longer than 64 bytes"},
		{"only tag", "+news@gmail.com", "empty local part once the provider's tag is removed"},
		{"display name", "Alice <alice@example.com>", "invalid character in local part"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if err == nil {
				t.Fatalf("Normalize(%q) = %+v, want error %q", tt.in, got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Normalize(%q) error %v does not wrap ErrInvalid", tt.in, err)
			}
			if want := ErrInvalid.Error() + ": " + tt.want; err.Error() != want {
				t.Errorf("Normalize(%q) error = %q, want %q", tt.in, err, want)
			}
		})
	}
}

// TestErrorsOmitAddress checks that errors can be logged: they never repeat
// the address or its parts.
func TestErrorsOmitAddress(t *testing.T) {
	for _, in := range []string{"secret.person@xn--zz.com", "secret.person@@example.com", "secret person@example.com"} {
		_, err := Normalize(in)
		if err == nil {
			t.Fatalf("Normalize(%q): no error", in)
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "xn--zz") {
			t.Errorf("Normalize(%q) error %q leaks the address", in, err)
		}
	}
}

// TestNormalizeIdempotent checks that a normalised address normalises to
// itself, so identities stay stable when stored and fed back.
func TestNormalizeIdempotent(t *testing.T) {
	inputs := []string{"J.Doe+x@GoogleMail.com", "Ünïcode@Bücher.de", "p\u0430ypal@example.com", "a-b@yahoo.com"}
	for _, in := range inputs {
		a, err := Normalize(in)
		if err != nil {
			t.Fatalf("Normalize(%q): %v", in, err)
		}
		b, err := Normalize(a.Normalized)
		if err != nil {
			t.Fatalf("Normalize(%q): %v", a.Normalized, err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("Normalize not idempotent for %q (-first +second):\n%s", in, diff)
		}
	}
}
