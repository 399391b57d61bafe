package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/verdictrisk/verdict/rules"
)

func init() {
	register("check", "check rule sets: every error and lint warning, with file:line:col", checkCmd)
}

// Exit statuses of check.
const (
	checkClean    = 0
	checkErrors   = 1
	checkWarnings = 2
)

func checkCmd(ctx context.Context, args []string, s stdio) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(s.err)
	quiet := fs.Bool("q", false, "print only the error lines, without the source line under each")
	fs.Usage = func() {
		io.WriteString(s.err, "usage: verdict check [-q] PATH...\n\n"+
			"Compiles each PATH (a folder of rule files, as verdictd --rules takes, or one\n"+
			"rule file) exactly as verdictd loads it and prints every error and lint\n"+
			"warning as file:line:col: rule \"name\": message.\n\n"+
			"Exit status: 0 clean, 1 errors (verdictd would refuse the set), 2 warnings only.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseCommand(fs, args, true); !ok {
		return code
	}
	status := checkClean
	for _, p := range fs.Args() {
		// Errors are worse than warnings, whatever their numbers.
		switch st := checkPath(p, *quiet, s); {
		case st == checkErrors, st == checkWarnings && status == checkClean:
			status = st
		}
	}
	return status
}

// parseCommand parses a command's flags. ok is false when the command must
// stop with code: help was asked for, a flag is wrong, or an argument is
// needed and none was given.
func parseCommand(fs *flag.FlagSet, args []string, needArgs bool) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if needArgs && fs.NArg() == 0 {
		fs.Usage()
		return exitUsage, false
	}
	return 0, true
}

// checkPath checks one rule set and returns its exit status.
func checkPath(p string, quiet bool, s stdio) int {
	set, err := rules.LoadDir(p)
	var errs rules.Errors
	switch {
	case err == nil:
		errs = set.Warnings
	case errors.As(err, &errs):
	default:
		fmt.Fprintf(s.out, "%s: %v\n", p, err)
		return checkErrors
	}
	src := sources{}
	for _, e := range errs {
		fmt.Fprintln(s.out, e.Error())
		if !quiet {
			src.show(s.out, e)
		}
	}
	nerr, nwarn := len(errs.Fatal()), len(errs.Warnings())
	if set == nil {
		fmt.Fprintf(s.out, "%s: %s, %s: verdictd would refuse this rule set\n", p,
			plural(nerr, "error"), plural(nwarn, "warning"))
		return checkErrors
	}
	fmt.Fprintf(s.out, "%s: %s, %s, %s: %s, version %s\n", p, plural(len(set.Rules), "rule"),
		plural(len(set.Counters), "counter"), plural(len(set.Lists), "list"),
		plural(nwarn, "warning"), set.Version)
	if nwarn > 0 {
		return checkWarnings
	}
	return checkClean
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// sources shows the line an error points at, with a caret under its column.
type sources map[string][]string

func (src sources) show(w io.Writer, e *rules.Error) {
	if e.Line <= 0 {
		return
	}
	lines, ok := src[e.File]
	if !ok {
		data, err := os.ReadFile(e.File)
		if err == nil {
			lines = strings.Split(string(data), "\n")
		}
		src[e.File] = lines
	}
	if e.Line > len(lines) {
		return
	}
	line := strings.TrimRight(strings.ReplaceAll(lines[e.Line-1], "\t", " "), "\r")
	col := min(max(e.Col, 1), utf8.RuneCountInString(line)+1)
	fmt.Fprintf(w, "    %s\n    %s^\n", line, strings.Repeat(" ", col-1))
}
