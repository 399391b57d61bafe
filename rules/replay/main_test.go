package replay_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

var testDir string

func tempDir() (string, error) { return testDir, nil }

// TestMain gives the tests a folder for fixture data and checks, after them,
// that no replay goroutine is left running.
func TestMain(m *testing.M) {
	var err error
	if testDir, err = os.MkdirTemp("", "replay-test"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	closeFeeds()
	os.RemoveAll(testDir)
	if code == 0 {
		if leak := leaked(); leak != "" {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests:\n%s\n", leak)
			code = 1
		}
	}
	os.Exit(code)
}

// leaked returns the stacks of goroutines still in package replay, after
// giving them a second to finish.
func leaked() string {
	deadline := time.Now().Add(time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var found []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "verdict/rules/replay.") && !strings.Contains(g, "leaked(") {
				found = append(found, g)
			}
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return strings.Join(found, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
