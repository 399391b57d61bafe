package rba

import (
	"fmt"
	"runtime"
	"testing"
)

// benchModel learns n logins of n/10 users over about n/2 addresses.
func benchModel(n int) (*Model, *history) {
	m := New(Options{MaxValues: 2 * n})
	h := &history{}
	for i := range n {
		x := Login{fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i/2&255), fmt.Sprint(i % 5000),
			fmt.Sprint("C", i%150), fmt.Sprint("ua", i%20000), fmt.Sprint("b", i%300),
			fmt.Sprint("o", i%80), fmt.Sprint("d", i%4)}
		m.Learn("", &x, i%10 == 0)
		if i%1000 == 0 {
			h.add(x)
		}
	}
	return m, h
}

// BenchmarkScore is scoring one login against tables of 100,000 logins.
func BenchmarkScore(b *testing.B) {
	m, h := benchModel(100_000)
	x := aliceHome
	b.ReportAllocs()
	for b.Loop() {
		m.Score("", &x, h)
	}
}

// BenchmarkModelLearn is adding one known login to the tables.
func BenchmarkModelLearn(b *testing.B) {
	m, _ := benchModel(100_000)
	x := aliceHome
	b.ReportAllocs()
	for b.Loop() {
		m.Learn("", &x, false)
	}
}

// BenchmarkModelMemory reports the heap bytes per value of a table holding a
// million distinct addresses (run with -benchtime=1x).
func BenchmarkModelMemory(b *testing.B) {
	const n = 1_000_000
	var perValue float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := New(Options{MaxValues: n})
		t := m.tenantOf("", true)
		for i := range n {
			m.add(IP, t, uint64(i)*0x9e3779b97f4a7c15, 1)
		}
		m.dirty = newChanges() // the dirty set is flushed every second
		runtime.GC()
		runtime.ReadMemStats(&after)
		perValue = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(m)
	}
	b.ReportMetric(perValue, "B/value")
}

// BenchmarkChanges is handing a flush the changes of a busy second (5,000
// logins learnt) of a model of 100,000. The lock is held only to swap the
// change sets.
func BenchmarkChanges(b *testing.B) {
	m, _ := benchModel(100_000)
	logins := make([]Login, 5000)
	for i := range logins {
		logins[i] = Login{fmt.Sprint("192.0.", i>>8&255, ".", i&255), fmt.Sprint(i % 3000),
			fmt.Sprint("C", i%100), fmt.Sprint("ua", i), "b1", "o1", "d1"}
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range logins {
			m.Learn("", &logins[i], false)
		}
		b.StartTimer()
		_, done := m.Changes()
		done(true)
	}
}
