// Package benchtest starts an in-process decision service for the tests of
// the bench tools: the real engine and HTTP API with the default rules and
// the geotest fixture data, listening on a loopback socket, so that the
// tools are tested over real HTTP without a built verdictd.
package benchtest

import (
	"net/http/httptest"
	"testing"

	"github.com/verdictrisk/verdict/engine/api"
	"github.com/verdictrisk/verdict/engine/setup"
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
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	st, err := setup.New(t.Context(), setup.Options{Rules: set, DataDir: info.Dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(api.New(st.Engine, api.Options{}).Handler())
	t.Cleanup(srv.Close)
	return srv.URL, info
}
