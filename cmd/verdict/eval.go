package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/verdictrisk/verdict/bench/eval"
	"github.com/verdictrisk/verdict/bench/sim"
	"github.com/verdictrisk/verdict/feeds/refdata"
	"github.com/verdictrisk/verdict/rules"
)

func init() {
	register("eval", "measure detection quality on a labelled attack simulation", evalCmd)
}

// evalFlags are the flags of verdict eval.
type evalFlags struct {
	rulesDir, dataDir, in, save, charts string
	reportFile, decisions               string
	badASN, datacenters, vpns           string
	start                               string
	fixture, asJSON, exact              bool
	cfg                                 sim.Config
}

func parseEvalFlags(args []string, s stdio) (evalFlags, error) {
	var f evalFlags
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.StringVar(&f.rulesDir, "rules", "", "folder of rule files (default: the embedded default pack)")
	fs.StringVar(&f.dataDir, "data", "./data", "folder of reference data (make data)")
	fs.BoolVar(&f.fixture, "fixture", false,
		"use the built-in fixture world and data instead of --data (twelve cities; for trials)")
	fs.StringVar(&f.in, "in", "", "evaluate this labelled stream (JSON lines) instead of simulating one")
	fs.StringVar(&f.save, "save-stream", "", "also write the simulated stream to this file")
	fs.Uint64Var(&f.cfg.Seed, "seed", 1, "simulation seed; the same seed and data give the same stream")
	fs.IntVar(&f.cfg.Users, "users", 2000, "legitimate users to simulate")
	fs.IntVar(&f.cfg.Days, "days", 28, "days the simulation lasts")
	fs.StringVar(&f.start, "start", sim.DefaultStart.Format(time.DateOnly),
		"first day of the simulation (YYYY-MM-DD, UTC)")
	fs.StringVar(&f.badASN, "bad-asn", "",
		"CSV list of hosting/VPN operators for the simulated world (ASN,Entity)")
	fs.StringVar(&f.datacenters, "datacenters", "",
		"comma-separated datacenter CIDR lists for the simulated world")
	fs.StringVar(&f.vpns, "vpns", "", "comma-separated VPN exit CIDR lists for the simulated world")
	fs.BoolVar(&f.asJSON, "json", false, "print the report as JSON instead of tables")
	fs.StringVar(&f.reportFile, "report", "", "also write the JSON report to this file")
	fs.StringVar(&f.decisions, "decisions", "",
		"write each decisive event's label, event and decision to this file (JSON lines)")
	fs.StringVar(&f.charts, "chart", "",
		"write the trade-off chart to these files (comma-separated, .svg or .png)")
	fs.BoolVar(&f.exact, "exact", false,
		"run the stream again for every point of the trade-off curve instead of re-scoring it")
	fs.Usage = func() {
		io.WriteString(s.err, "usage: verdict eval [flags]\n\n"+
			"Simulates legitimate users and attackers (or reads a labelled stream), decides\n"+
			"every event in-process with fresh in-memory state, and reports how many attacks\n"+
			"each attacker model gets through and how many legitimate logins are bothered.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.cfg.Users <= 0 || f.cfg.Days <= 0 {
		return f, errors.New("--users and --days must be positive")
	}
	start, err := time.Parse(time.DateOnly, f.start)
	if err != nil {
		return f, fmt.Errorf("--start %q is not a date such as 2026-10-01", f.start)
	}
	f.cfg.Start = start
	return f, nil
}

func evalCmd(ctx context.Context, args []string, s stdio) int {
	f, err := parseEvalFlags(args, s)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		s.errorf("eval: %v", err)
		return exitUsage
	}
	if err := runEval(ctx, f, s); err != nil {
		s.errorf("eval: %v", err)
		return exitFail
	}
	return exitOK
}

func runEval(ctx context.Context, f evalFlags, s stdio) error {
	tuneGCForBatch()
	set, err := loadRules(f.rulesDir)
	if err != nil {
		return err
	}
	dataDir, cleanup, err := evalData(f)
	if err != nil {
		return err
	}
	defer cleanup()
	data, err := refdata.Open(ctx, refdata.Options{DataDir: dataDir})
	if err != nil {
		return err
	}
	defer data.Close()
	recs, about, err := evalStream(f, dataDir)
	if err != nil {
		return err
	}
	opts := eval.Options{Rules: set, NewEngine: eval.DataEngine(data), Exact: f.exact}
	var decisions *os.File
	var buf *bufio.Writer
	if f.decisions != "" {
		if decisions, err = os.Create(f.decisions); err != nil {
			return err
		}
		defer decisions.Close()
		buf = bufio.NewWriter(decisions)
		opts.Decisions = buf
	}
	rep, err := eval.Run(ctx, recs, opts)
	if err != nil {
		return err
	}
	if buf != nil {
		if err := errors.Join(buf.Flush(), decisions.Close()); err != nil {
			return fmt.Errorf("decisions %s: %w", f.decisions, err)
		}
	}
	rep.About, rep.Machine = about, eval.Machine()
	for _, path := range splitList(f.charts) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := eval.SaveChart(rep, path); err != nil {
			return err
		}
		fmt.Fprintf(s.err, "verdict: eval: wrote the trade-off chart to %s\n", path)
	}
	if f.reportFile != "" {
		if err := writeReport(f.reportFile, rep); err != nil {
			return err
		}
	}
	if f.asJSON {
		return encodeReport(s.out, rep)
	}
	return eval.Print(s.out, rep)
}

func encodeReport(w io.Writer, rep *eval.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func writeReport(path string, rep *eval.Report) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := errors.Join(encodeReport(file, rep), file.Close()); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return nil
}

func loadRules(dir string) (*rules.Set, error) {
	if dir == "" {
		return rules.Default()
	}
	return rules.LoadDir(dir)
}

// evalData returns the reference data folder: --data, or a fixture
// written to a temporary folder that cleanup removes.
func evalData(f evalFlags) (dir string, cleanup func(), err error) {
	if !f.fixture {
		m, err := refdata.Check(context.Background(), f.dataDir)
		if m != nil {
			m.Close()
		}
		if err != nil {
			return "", nil, fmt.Errorf("data %s: %w (or use --fixture)", f.dataDir, err)
		}
		return f.dataDir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "verdict-eval-")
	if err != nil {
		return "", nil, err
	}
	if _, err := sim.WriteFixture(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// evalStream reads --in, or simulates the stream in the world of dataDir,
// and describes it in one line.
func evalStream(f evalFlags, dataDir string) ([]sim.Record, string, error) {
	if f.in != "" {
		file, err := os.Open(f.in)
		if err != nil {
			return nil, "", err
		}
		defer file.Close()
		recs, err := sim.Read(file)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", f.in, err)
		}
		return recs, fmt.Sprintf("stream %s (%d events)", f.in, len(recs)), nil
	}
	w, err := evalWorld(f, dataDir)
	if err != nil {
		return nil, "", err
	}
	recs, err := sim.Generate(w, f.cfg)
	if err != nil {
		return nil, "", err
	}
	if f.save != "" {
		if err := saveStream(f.save, recs); err != nil {
			return nil, "", err
		}
	}
	source := "reference data in " + dataDir
	if f.fixture {
		source = "the fixture world"
	}
	about := fmt.Sprintf("simulation seed %d: %d users over %d days from %s, %d cities from %s",
		f.cfg.Seed, f.cfg.Users, f.cfg.Days, f.cfg.Start.Format(time.DateOnly), len(w.Cities),
		source)
	return recs, about, nil
}

func evalWorld(f evalFlags, dataDir string) (*sim.World, error) {
	o, err := sim.ListFiles{BadASN: f.badASN, Datacenters: splitList(f.datacenters),
		VPNs: splitList(f.vpns)}.Load()
	if err != nil {
		return nil, err
	}
	if f.fixture {
		return sim.BuildFixtureWorld(o)
	}
	return sim.BuildWorld(dataDir, o)
}

func saveStream(path string, recs []sim.Record) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := errors.Join(sim.Write(file, recs), file.Close()); err != nil {
		return fmt.Errorf("save stream: %w", err)
	}
	return nil
}
