package cli

import (
	"bytes"
	"errors"
	"flag"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
	}{
		{[]string{"-n", "3"}, false},
		{[]string{"-n", "3", "extra"}, true},
		{[]string{"-m"}, true},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		n := fs.Int("n", 0, "")
		var out bytes.Buffer
		err := Parse(fs, tc.args, &out)
		if (err != nil) != tc.wantErr {
			t.Errorf("Parse(%q) = %v, want error %v", tc.args, err, tc.wantErr)
		}
		if !tc.wantErr && *n != 3 {
			t.Errorf("Parse(%q) set n = %d", tc.args, *n)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var out bytes.Buffer
	if err := Parse(fs, []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) || out.Len() == 0 {
		t.Errorf("Parse(-h) = %v with usage %q, want flag.ErrHelp and the usage", err, out.String())
	}
}
