// Command verdictd is the Verdict service: it answers auth servers' decision
// requests over HTTP and keeps per-user state. Run `verdictd -h` for flags;
// the README shows a first session.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "verdictd:", err)
		os.Exit(1)
	}
}
