package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/rules/ruletest"
)

func init() {
	register("test", "run rule unit tests: event sequences and the decisions expected", testCmd)
}

type testFlags struct {
	run, junit, data string
	verbose, cover   bool
}

func testCmd(ctx context.Context, args []string, s stdio) int {
	var f testFlags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.StringVar(&f.run, "run", "", "run only the tests whose name matches this regular expression")
	fs.StringVar(&f.junit, "junit", "", "also write the results as JUnit XML to this file")
	fs.StringVar(&f.data, "data", "",
		"reference data folder for geo, ASN and e-mail lookups (default: none, so that\n"+
			"tests give such signals themselves and do not depend on the data's version)")
	fs.BoolVar(&f.verbose, "v", false, "list every test, not only the failed ones")
	fs.BoolVar(&f.cover, "require-coverage", false,
		"fail when a rule of a tested set is asserted by no test")
	fs.Usage = func() {
		io.WriteString(s.err, "usage: verdict test [flags] FILE|DIR...\n\n"+
			"Runs the rule tests in each YAML FILE (or every .yaml file of DIR). Each test\n"+
			"decides its events in order on a fresh engine over the rule set the file\n"+
			"names, and checks the decisions at the steps with an expect. docs/rules.md\n"+
			"describes the format.\n\nExit status: 0 all passed, 1 a test failed or a file "+
			"did not load.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseCommand(fs, args, true); !ok {
		return code
	}
	opts, closeAll, err := f.options(ctx)
	if err != nil {
		s.errorf("%v", err)
		return exitUsage
	}
	defer closeAll()
	files, err := loadTests(fs.Args())
	if err != nil {
		fmt.Fprintln(s.out, err)
		return exitFail
	}
	res, err := ruletest.Run(ctx, files, opts)
	if err != nil {
		s.errorf("%v", err)
		return exitFail
	}
	return f.report(res, s)
}

func (f *testFlags) options(ctx context.Context) (ruletest.Options, func(), error) {
	var opts ruletest.Options
	if f.run != "" {
		re, err := regexp.Compile(f.run)
		if err != nil {
			return opts, nil, fmt.Errorf("--run: %w", err)
		}
		opts.Run = re
	}
	if f.data == "" {
		return opts, func() {}, nil
	}
	eo, closeData, err := dataOptions(ctx, f.data)
	if err != nil {
		return opts, nil, fmt.Errorf("--data %s: %w", f.data, err)
	}
	opts.Engine = eo
	return opts, closeData, nil
}

func (f *testFlags) report(res *ruletest.Result, s stdio) int {
	res.WriteText(s.out, f.verbose)
	if f.junit != "" {
		if err := writeJUnit(f.junit, res); err != nil {
			s.errorf("--junit: %v", err)
			return exitFail
		}
	}
	if !res.Passed() {
		return exitFail
	}
	if f.cover {
		for _, c := range res.Coverage {
			if len(c.Uncovered(time.Now())) > 0 {
				return exitFail
			}
		}
	}
	return exitOK
}

func writeJUnit(path string, res *ruletest.Result) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := res.WriteJUnit(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// loadTests parses every test file named, folders expanded to their .yaml
// files; every file's problems are reported together.
func loadTests(paths []string) ([]*ruletest.File, error) {
	var names []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			names = append(names, p)
			continue
		}
		var found []string
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(p, pat))
			found = append(found, m...)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s holds no .yaml test files", p)
		}
		sort.Strings(found)
		names = append(names, found...)
	}
	var files []*ruletest.File
	var errs []string
	for _, n := range names {
		f, err := ruletest.LoadFile(n)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		files = append(files, f)
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return files, nil
}
