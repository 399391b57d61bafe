package engine

import (
	"time"

	"github.com/verdictrisk/verdict/signals/profile"
	"github.com/verdictrisk/verdict/signals/rba"
	"github.com/verdictrisk/verdict/signals/velocity"
)

// rbaAttachment keeps an RBA model in the profile database.
type rbaAttachment struct{ m *rba.Model }

func (a rbaAttachment) Bucket() string { return rba.Bucket }

func (a rbaAttachment) Load(k, v []byte) error { return a.m.Load(k, v) }

func (a rbaAttachment) Changes() (func(profile.Writer) error, func(bool)) {
	write, done := a.m.Changes()
	return func(w profile.Writer) error { return write(w) }, done
}

// seenUsersName is the built-in counter behind device.seen_users, also its
// metric label. Rule files cannot declare it: their names have no dot.
const seenUsersName = "device.seen_users"

func seenUsersSpec(window time.Duration) velocity.Spec {
	return velocity.Spec{Name: seenUsersName, Window: min(window, velocity.MaxWindow),
		Distinct: true}
}

// loginOf rebuilds the RBA model's view of a login from a lesson's
// observation.
func loginOf(o *profile.Observation) *rba.Login {
	return &rba.Login{o.IP, o.ASN, o.Country, o.Agent, o.Browser, o.OS, o.DeviceType}
}
