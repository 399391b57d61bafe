package refdata

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMain fails the package when feed loops or watchers outlive their
// Manager's Close: every test closes what it opened.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); code == 0 && n > before+2 {
		buf := make([]byte, 1<<16)
		fmt.Fprintf(os.Stderr, "goroutines leaked: %d before, %d after\n%s\n", before, n,
			buf[:runtime.Stack(buf, true)])
		code = 1
	}
	os.Exit(code)
}
