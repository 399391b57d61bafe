package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// newRand returns a PCG source for one stream of the run: the seed says
// which run, stream which part of it (a user, an attacker), so that parts
// draw independently of one another.
func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// Stream numbers. Users take userStream+i, attackers attackStream+i.
const (
	worldStream  = 1
	idStream     = 2
	userStream   = 1 << 32
	attackStream = 2 << 32
)

// pickIndex returns an index in [0, n) drawn by weight; indexes of weight 0
// are never drawn. It returns -1 when every weight is 0.
func pickIndex(r *rand.Rand, n int, weight func(i int) int) int {
	total := 0
	for i := range n {
		total += weight(i)
	}
	if total <= 0 {
		return -1
	}
	x := r.IntN(total)
	for i := range n {
		w := weight(i)
		if x < w {
			return i
		}
		x -= w
	}
	return -1
}

// pickWeighted returns an element of items drawn by weight, and false when
// every weight is 0.
func pickWeighted[T any](r *rand.Rand, items []T, weight func(T) int) (T, bool) {
	i := pickIndex(r, len(items), func(i int) int { return weight(items[i]) })
	if i < 0 {
		var zero T
		return zero, false
	}
	return items[i], true
}

// pick returns a random element of items, which must not be empty.
func pick[T any](r *rand.Rand, items []T) T { return items[r.IntN(len(items))] }

// chance reports true with probability p.
func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// between returns a duration uniformly drawn from [lo, hi).
func between(r *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}

// logNormal draws from a log-normal distribution with the given median;
// sigma sets how heavy its tail is.
func logNormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// hexID returns n random bytes in hex.
func hexID(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return fmt.Sprintf("%x", b)
}

// uuid4 returns a random UUID in the version-4 layout, as browsers and auth
// servers make them for device cookies and event ids.
func uuid4(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
