package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// command is one subcommand of the CLI. run returns the exit status.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, io stdio) int
}

// stdio carries a command's streams, so tests can give their own.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

func (s stdio) errorf(format string, args ...any) {
	fmt.Fprintf(s.err, "verdict: "+format+"\n", args...)
}

var commands = map[string]command{}

func register(name, summary string, run func(context.Context, []string, stdio) int) {
	commands[name] = command{summary: summary, run: run}
}

// Exit statuses shared by the commands.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and found errors (or failed)
	exitUsage = 64
)

func run(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	s := stdio{in: in, out: out, err: errw}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(s.out)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		s.errorf("unknown command %q", args[0])
		usage(s.err)
		return exitUsage
	}
	return c.run(ctx, args[1:], s)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: verdict <command> [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `verdict <command> -h` for a command's flags.")
}

// splitList splits a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
