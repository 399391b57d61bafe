package email

import "strings"

// provider says which parts of a local part a mail provider ignores when it
// delivers, so that addresses reaching the same mailbox normalise alike.
type provider struct {
	// domain is the canonical domain; "" keeps the address's own.
	domain string
	// dots is true when dots in the local part are ignored.
	dots bool
	// tag is the byte that starts a sub-address tag ignored with all that
	// follows it, or 0.
	tag byte
}

// providers is the table of providers whose rules Normalize applies:
//
//	domains                                   dots     tag
//	gmail.com, googlemail.com -> gmail.com    ignored  +tag
//	outlook.*, hotmail.*, live.*, msn.com     kept     +tag
//	yahoo.*, ymail.com, rocketmail.com        kept     -tag
//	protonmail.com/.ch, proton.me, pm.me      kept     +tag
//	fastmail.com, fastmail.fm                 kept     +tag
//	icloud.com, me.com, mac.com               kept     +tag
//
// Yahoo's "-" addresses are disposable aliases of a base name (Yahoo ids
// cannot contain "-"). Microsoft domains are distinct mailboxes from each
// other, so they keep their own domain; only Google aliases two domains.
// Google Workspace domains ignore dots too, but cannot be told apart from
// other custom domains without a DNS lookup, so they keep theirs.
var providers = map[string]provider{
	"gmail.com":      {domain: "gmail.com", dots: true, tag: '+'},
	"googlemail.com": {domain: "gmail.com", dots: true, tag: '+'},

	"outlook.com": {tag: '+'}, "hotmail.com": {tag: '+'}, "live.com": {tag: '+'},
	"msn.com": {tag: '+'}, "outlook.fr": {tag: '+'}, "outlook.de": {tag: '+'},
	"hotmail.co.uk": {tag: '+'}, "hotmail.fr": {tag: '+'}, "hotmail.de": {tag: '+'},
	"hotmail.it": {tag: '+'}, "hotmail.es": {tag: '+'}, "live.co.uk": {tag: '+'},
	"live.fr": {tag: '+'}, "live.de": {tag: '+'}, "live.it": {tag: '+'},

	"yahoo.com": {tag: '-'}, "ymail.com": {tag: '-'}, "rocketmail.com": {tag: '-'},
	"yahoo.co.uk": {tag: '-'}, "yahoo.fr": {tag: '-'}, "yahoo.de": {tag: '-'},
	"yahoo.it": {tag: '-'}, "yahoo.es": {tag: '-'}, "yahoo.ca": {tag: '-'},
	"yahoo.com.au": {tag: '-'}, "yahoo.com.br": {tag: '-'}, "yahoo.in": {tag: '-'},

	"protonmail.com": {tag: '+'}, "protonmail.ch": {tag: '+'}, "proton.me": {tag: '+'},
	"pm.me": {tag: '+'},

	"fastmail.com": {tag: '+'}, "fastmail.fm": {tag: '+'},

	"icloud.com": {tag: '+'}, "me.com": {tag: '+'}, "mac.com": {tag: '+'},
}

// applyProvider removes what the domain's provider ignores from the local
// part and returns the canonical local part and domain.
func applyProvider(local, domain string) (string, string, error) {
	// TODO: Google Workspace domains (dots ignored) need an MX lookup to be recognised.
	// TODO: Fastmail's subdomain addressing (user@tag.user.fastmail.com) is not folded.
	p, ok := providers[domain]
	if !ok {
		return local, domain, nil
	}
	if p.tag != 0 {
		if i := strings.IndexByte(local, p.tag); i >= 0 {
			local = local[:i]
		}
	}
	if p.dots {
		local = strings.ReplaceAll(local, ".", "")
	}
	if local == "" {
		return "", "", invalid("empty local part once the provider's tag is removed")
	}
	if p.domain != "" {
		domain = p.domain
	}
	return local, domain, nil
}
