package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSASL: the options verdictd builds from --kafka-sasl authenticate
// against a broker that requires SCRAM, and a wrong password is refused.
func TestSASL(t *testing.T) {
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(SASLScramSHA256, "verdict", "s3cret"))
	mech, err := SASLMechanism("scram-sha-256", "verdict", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	o := c.options()
	o.SASL = mech
	start(t, newEngine(t, newState(t)), o, nil)
	admin := c.client(t, kgo.SASL(mech))
	produce(t, admin, failedLogins("sasl", 0, 5, "81.2.69.142")...)
	want := ids("sasl", 0, 5)
	firstDecisions(t, decisions(t, c, want, kgo.SASL(mech)), want)

	if _, err := SASLMechanism("GSSAPI", "u", "p"); err == nil {
		t.Error("GSSAPI accepted; only PLAIN and SCRAM are supported")
	}
}
