package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/verdictrisk/verdict/engine/api"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

func TestFeedsCommand(t *testing.T) {
	data := t.TempDir()
	if _, err := geotest.Fixture(data); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	if code := run(t.Context(), []string{"feeds", "--data", data}, nil, &out, &errw); code != exitOK {
		t.Fatalf("exit %d: %s%s", code, out.String(), errw.String())
	}
	for _, want := range []string{`(?m)^geo_city\s+city\s+-\s+15\s`,
		`(?m)^datacenter\s+cidr_list\s+hosting\s+2\s.*lists/datacenter-ipv6.txt\s+ok$`,
		`(?m)^bad_asn\s+asn_list\s+hosting\s+1\s`} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("output lacks %s:\n%s", want, out.String())
		}
	}

	// A list that went bad: exit status 1 and the error in the table.
	os.WriteFile(filepath.Join(data, "lists", "vpn-ipv4.txt"), []byte("<html>\n"), 0o644)
	out.Reset()
	if code := run(t.Context(), []string{"feeds", "--data", data}, nil, &out, &errw); code != exitFail {
		t.Errorf("exit %d with a broken list, want %d", code, exitFail)
	}

	// --url asks a running service.
	os.Remove(filepath.Join(data, "lists", "vpn-ipv4.txt"))
	set, _ := rules.Default()
	st, err := setup.New(t.Context(), setup.Options{Rules: set, DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := api.New(st.Engine, api.Options{})
	a.ServeFeeds(st.Feeds)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	out.Reset()
	code := run(t.Context(), []string{"feeds", "--url", srv.URL, "--json"}, nil, &out, &errw)
	if code != exitFail || !strings.Contains(out.String(), `"last_error": "`) ||
		!strings.Contains(out.String(), "vpn-ipv4.txt: source not found") {
		t.Errorf("exit %d:\n%s", code, out.String())
	}
}
