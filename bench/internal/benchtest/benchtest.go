// Package benchtest starts an in-process decision service for the tests of
// the bench tools: the real engine and HTTP API with the default rules and
// the geotest fixture data, listening on a loopback socket, so that the
// tools are tested over real HTTP without a built verdictd.
package benchtest

import (
	"net/http/httptest"
	"testing"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/api"
	"github.com/verdictrisk/verdict/feeds/refdata"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// Server starts the service and returns its base URL and the fixture it
// reads. Everything is closed when the test ends.
func Server(t testing.TB) (string, geotest.FixtureInfo) {
	t.Helper()
	info, err := geotest.Fixture(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := refdata.Open(info.Dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		data.Close()
		data.Devices.Close()
	})
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	opts := engine.Options{Rules: set, Devices: data.Devices}
	// Only non-nil sources go into the interfaces, so that a missing one
	// reads as missing rather than as a nil pointer.
	if data.City != nil {
		opts.City = data.City
	}
	if data.ASN != nil {
		opts.ASN = data.ASN
	}
	eng, err := engine.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	srv := httptest.NewServer(api.New(eng, api.Options{}).Handler())
	t.Cleanup(srv.Close)
	return srv.URL, info
}
