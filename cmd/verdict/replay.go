package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/rules/replay"
)

func init() {
	register("replay", "replay recorded events through a baseline and a candidate rule set and diff", replayCmd)
}

type replayFlags struct {
	baseline, candidate, data, out string
	noChallenges                   bool
	kafka                          kafkaFlags
}

func replayCmd(ctx context.Context, args []string, s stdio) int {
	var f replayFlags
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.StringVar(&f.baseline, "baseline", "", "rule folder or file of the baseline (default: the embedded default pack)")
	fs.StringVar(&f.candidate, "candidate", "", "rule folder or file of the candidate (required)")
	fs.StringVar(&f.data, "data", "./data", "reference data folder; without it geo and ASN signals are missing")
	fs.StringVar(&f.out, "out", "", "write each decision whose action changed to this file, as JSON lines")
	fs.BoolVar(&f.noChallenges, "no-challenges", false,
		"do not answer step-ups of labelled events with simulated challenges "+
			"(a recorded stream holds its own)")
	f.kafka.register(fs)
	fs.Usage = func() {
		io.WriteString(s.err, "usage: verdict replay --candidate DIR [flags] FILE\n"+
			"       verdict replay --candidate DIR [flags] --kafka BROKERS --topic T [--from X] [--to Y]\n\n"+
			"Decides every event of a recorded stream with the baseline and the candidate\n"+
			"rule set, each with its own state evolving from the same events, and reports\n"+
			"what the candidate changes. FILE holds JSON lines, bare events or labelled\n"+
			"records {\"label\": {...}, \"event\": {...}}; - reads standard input.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseCommand(fs, args, false); !ok {
		return code
	}
	if f.candidate == "" || (fs.NArg() != 1) == (f.kafka.brokers == "") {
		fs.Usage()
		return exitUsage
	}
	opts, closeAll, err := f.options(ctx, s)
	if err != nil {
		s.errorf("%v", err)
		return exitFail
	}
	defer closeAll()
	src, name, closeSrc, err := f.source(ctx, fs.Arg(0), s)
	if err != nil {
		s.errorf("%v", err)
		return exitFail
	}
	defer closeSrc()
	return f.run(ctx, src, name, opts, s)
}

func (f *replayFlags) run(ctx context.Context, src replay.Source, name string, opts replay.Options,
	s stdio) int {
	var out *os.File
	if f.out != "" {
		var err error
		if out, err = os.Create(f.out); err != nil {
			s.errorf("--out: %v", err)
			return exitFail
		}
		opts.Out = out
	}
	tuneGCForBatch()
	bar := newProgress(s.err)
	opts.Progress = bar.update
	opts.Challenges = !f.noChallenges
	rep, err := replay.Run(ctx, src, opts)
	bar.done()
	if out != nil {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("--out: %w", cerr)
		}
	}
	if rep != nil {
		rep.WriteText(s.out, name)
		if out != nil {
			fmt.Fprintf(s.out, "\n%d changed decisions written to %s\n", rep.Changed, f.out)
		}
	}
	if err != nil {
		s.errorf("%v", err)
		return exitFail
	}
	return exitOK
}

// options loads both rule sets and the reference data.
func (f *replayFlags) options(ctx context.Context, s stdio) (replay.Options, func(), error) {
	var opts replay.Options
	var err error
	if f.baseline == "" {
		opts.Baseline, err = rules.Default()
	} else {
		opts.Baseline, err = rules.LoadDir(f.baseline)
	}
	if err != nil {
		return opts, nil, fmt.Errorf("baseline rules:\n%w", err)
	}
	if opts.Candidate, err = rules.LoadDir(f.candidate); err != nil {
		return opts, nil, fmt.Errorf("candidate rules:\n%w", err)
	}
	for _, w := range opts.Candidate.Warnings {
		fmt.Fprintln(s.err, w.Error())
	}
	if _, err := os.Stat(f.data); err != nil {
		fmt.Fprintf(s.err, "verdict: no reference data in %s (make data fetches it); "+
			"geo and ASN signals are missing\n", f.data)
		return opts, func() {}, nil
	}
	eo, closeData, err := dataOptions(ctx, f.data)
	if err != nil {
		return opts, nil, fmt.Errorf("--data %s: %w", f.data, err)
	}
	opts.Engine = eo
	return opts, closeData, nil
}

// source opens the stream: the file named, standard input, or Kafka.
func (f *replayFlags) source(ctx context.Context, file string, s stdio) (replay.Source, string,
	func(), error) {
	if f.kafka.brokers != "" {
		return f.kafka.open(ctx)
	}
	if file == "-" {
		return replay.NewJSONL(s.in, 0), "standard input", func() {}, nil
	}
	in, err := os.Open(file)
	if err != nil {
		return nil, "", nil, err
	}
	var size int64
	if st, err := in.Stat(); err == nil {
		size = st.Size()
	}
	return replay.NewJSONL(in, size), file, func() { in.Close() }, nil
}

// progress draws a progress bar on a terminal; elsewhere it draws nothing.
type progress struct {
	w     io.Writer
	on    bool
	start time.Time
	drawn bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

const barWidth = 30

func (p *progress) update(done, total int64, records int) {
	if !p.on {
		return
	}
	rate := float64(records) / max(time.Since(p.start).Seconds(), 1e-9)
	if total <= 0 {
		fmt.Fprintf(p.w, "\r%d events, %.0f/s ", records, rate)
		p.drawn = true
		return
	}
	frac := min(float64(done)/float64(total), 1)
	n := int(frac * barWidth)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%%  %d events, %.0f/s ", strings.Repeat("#", n),
		strings.Repeat(".", barWidth-n), 100*frac, records, rate)
	p.drawn = true
}

// done clears the bar's line.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", barWidth+40))
	}
}
