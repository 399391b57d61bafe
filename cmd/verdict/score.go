package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/rules"
)

func init() {
	register("score", "decide one event read from stdin and print the decision", scoreCmd)
}

func scoreCmd(ctx context.Context, args []string, s stdio) int {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(s.err)
	rulesDir := fs.String("rules", "", "folder of rule files (default: the embedded default pack)")
	dataDir := fs.String("data", "./data", "folder of reference data")
	explain := fs.Bool("explain", false, "include every rule's result")
	fs.Usage = func() {
		io.WriteString(s.err, "usage: verdict score [flags] < event.json\n\n"+
			"Decides one event with fresh, in-memory state and prints the decision.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	eng, err := newEngine(ctx, *rulesDir, *dataDir)
	if err != nil {
		s.errorf("%v", err)
		return exitFail
	}
	defer eng.Close()
	body, err := io.ReadAll(io.LimitReader(s.in, 1<<20))
	if err != nil {
		s.errorf("read stdin: %v", err)
		return exitFail
	}
	var ev engine.Event
	if err := engine.DecodeEvent(body, &ev); err != nil {
		s.errorf("event: %v", err)
		return exitFail
	}
	d, err := eng.DecideWith(ctx, &ev, engine.DecideOptions{Explain: *explain})
	if err != nil {
		s.errorf("event: %v", err)
		return exitFail
	}
	enc := json.NewEncoder(s.out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		s.errorf("write: %v", err)
		return exitFail
	}
	return exitOK
}

// newEngine builds an engine with in-memory state over the given rules and
// reference data, as verdictd does (engine/setup).
func newEngine(ctx context.Context, rulesDir, dataDir string) (*setup.Stack, error) {
	var set *rules.Set
	var err error
	if rulesDir == "" {
		set, err = rules.Default()
	} else {
		set, err = rules.LoadDir(rulesDir)
	}
	if err != nil {
		return nil, err
	}
	return setup.New(ctx, setup.Options{Rules: set, DataDir: dataDir})
}
