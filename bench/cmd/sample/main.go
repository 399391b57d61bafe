// Command sample writes a labelled sample stream of authentication events
// (see package sim) as JSON lines, for the demo and for replay:
//
//	sample -data data -out state/sample.jsonl [-seed 1 -users 300 -days 21
//	       -start 2026-10-01 -bad-asn ../shared/data/bad-asn-list/bad-asn-list.csv
//	       -datacenters ../shared/data/x4bnet-lists-vpn/datacenter-ipv4.txt,...
//	       -vpns ../shared/data/x4bnet-lists-vpn/vpn-ipv4.txt,...]
//
// The world comes from the reference data in -data; without -data it is the
// small built-in fixture world (twelve cities, a few networks each). It prints how
// many events of each kind it wrote to standard error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/bench/internal/cli"
	"github.com/verdictrisk/verdict/bench/sim"
)

func main() { cli.Main("sample", run) }

type config struct {
	data, out, badASN, start, datacenters, vpns string
	sim                                         sim.Config
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.StringVar(&c.data, "data", "",
		"folder with the DB-IP City Lite and ASN files (make data); empty: the built-in test world")
	fs.StringVar(&c.out, "out", "",
		"file to write the JSON lines to (required; - for standard output)")
	fs.StringVar(&c.badASN, "bad-asn", "",
		"CSV list of hosting/VPN operators (ASN,Entity); their networks are used by attackers only")
	fs.StringVar(&c.datacenters, "datacenters", "", "comma-separated files of datacenter CIDRs, "+
		"one a line; their networks are used by attackers only")
	fs.StringVar(&c.vpns, "vpns", "", "comma-separated files of VPN exit CIDRs, one a line; "+
		"VPN users and VPN attackers use their networks")
	fs.StringVar(&c.start, "start", sim.DefaultStart.Format(time.DateOnly),
		"first day of the window (YYYY-MM-DD, UTC)")
	fs.Uint64Var(&c.sim.Seed, "seed", 1, "random seed; the same seed and data give the same stream")
	fs.IntVar(&c.sim.Users, "users", 300, "number of legitimate users")
	fs.IntVar(&c.sim.Days, "days", 21, "length of the window in days")
	if err := cli.Parse(fs, args, stderr); err != nil {
		return c, err
	}
	if c.out == "" {
		return c, errors.New("-out is required")
	}
	if c.sim.Users <= 0 || c.sim.Days <= 0 {
		return c, errors.New("-users and -days must be positive")
	}
	start, err := time.Parse(time.DateOnly, c.start)
	if err != nil {
		return c, fmt.Errorf("-start %q is not a date such as 2026-10-01", c.start)
	}
	c.sim.Start = start
	return c, nil
}

func run(_ context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	opts, err := worldOptions(c)
	if err != nil {
		return err
	}
	began := time.Now()
	world, err := buildWorld(c.data, opts)
	if err != nil {
		return err
	}
	built := time.Since(began)
	recs, err := sim.Generate(world, c.sim)
	if err != nil {
		return err
	}
	if err := write(c.out, stdout, recs); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sample: %d cities (world built in %s), %s -> %s\n",
		len(world.Cities), built.Round(10*time.Millisecond), describe(recs), c.out)
	return nil
}

// worldOptions loads the lists of hosting networks the flags name.
func worldOptions(c config) (sim.WorldOptions, error) {
	return sim.ListFiles{BadASN: c.badASN, Datacenters: split(c.datacenters),
		VPNs: split(c.vpns)}.Load()
}

// split splits a comma-separated flag value; empty gives none.
func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// buildWorld builds the world from dir, or the fixture world when dir is
// empty.
func buildWorld(dir string, opts sim.WorldOptions) (*sim.World, error) {
	if dir == "" {
		return sim.BuildFixtureWorld(opts)
	}
	return sim.BuildWorld(dir, opts)
}

// write writes the records to path through a temporary file, so that a
// reader never sees half a stream; "-" is stdout.
func write(path string, stdout io.Writer, recs []sim.Record) error {
	if path == "-" {
		return sim.Write(stdout, recs)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := errors.Join(sim.Write(f, recs), f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// describe counts the records by label, e.g. "3120 events: 2990 legit,
// 120 credential_stuffing, 2 account_takeover, 30 signup_burst".
func describe(recs []sim.Record) string {
	counts := map[string]int{}
	var order []string
	for _, r := range recs {
		k := r.Label.Kind
		if r.Label.Attack != "" {
			k = r.Label.Attack
		}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	slices.SortStableFunc(order, func(a, b string) int {
		return boolInt(a != sim.KindLegit) - boolInt(b != sim.KindLegit)
	})
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%d %s", counts[k], k)
	}
	return fmt.Sprintf("%d events: %s", len(recs), strings.Join(parts, ", "))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
