package velocity

import (
	"math"
	"slices"
)

// addEvent records an event at t in a key's buckets and returns the key's
// count over the window ending at t.
func (c *Counter) addEvent(cells []cell, t, newest int64) ([]cell, int) {
	cells = dropBefore(cells, c.retainFrom(newest))
	b := c.bucketStart(t)
	i := len(cells)
	// Events mostly arrive in order, so the bucket is found at the end.
	for i > 0 && cells[i-1].t > b {
		i--
	}
	if i > 0 && cells[i-1].t == b {
		cells[i-1].v++
	} else {
		// A late event gets its own, older bucket, so that it counts where
		// it happened and not as a burst now.
		cells = slices.Insert(cells, i, cell{v: 1, t: b})
		i++
	}
	return cells, c.sumBuckets(cells[:i], b)
}

// countEvents returns the count over the window ending at t.
func (c *Counter) countEvents(cells []cell, t int64) int {
	b := c.bucketStart(t)
	i := len(cells)
	for i > 0 && cells[i-1].t > b {
		i--
	}
	return c.sumBuckets(cells[:i], b)
}

// sumBuckets adds up the buckets of the window whose newest bucket is b;
// cells holds no bucket after b.
func (c *Counter) sumBuckets(cells []cell, b int64) int {
	oldest := b - c.span + c.res
	n := uint64(0)
	for i := len(cells) - 1; i >= 0 && cells[i].t >= oldest; i-- {
		n += cells[i].v
	}
	return int(min(n, uint64(maxInt)))
}

const maxInt = int(^uint(0) >> 1)

// dropBefore removes the buckets that start before cut from sorted cells,
// keeping the array so that a busy key does not reallocate.
func dropBefore(cells []cell, cut int64) []cell {
	if len(cells) == 0 || cells[0].t >= cut {
		return cells
	}
	k := 1
	for k < len(cells) && cells[k].t < cut {
		k++
	}
	return cells[:copy(cells, cells[k:])]
}

// addDistinct records value v seen at t and returns the number of distinct
// values seen in (t-window, ...]. One pass finds v, counts, drops values
// older than the counter keeps, and finds the oldest value for saturation.
//
// TODO: index big distinct sets; Add is linear in the key's values (~3µs at 1000).
func (c *Counter) addDistinct(cells []cell, v uint64, t, newest int64) ([]cell, int) {
	keep, from := c.retainFrom(newest), t-c.window
	w, n, found, oldest, oldestT := 0, 0, -1, -1, int64(math.MaxInt64)
	for i, x := range cells {
		if x.t < keep {
			continue
		}
		if x.v == v {
			found = w
			x.t = max(x.t, t)
			cells[i].t = x.t
		}
		if w != i {
			cells[w] = x
		}
		if x.t > from {
			n++
		}
		if x.t < oldestT {
			oldest, oldestT = w, x.t
		}
		w++
	}
	cells = cells[:w]
	switch {
	case found >= 0:
		newestLast(cells, found)
	case w < c.maxDistinct:
		cells = append(cells, cell{v: v, t: t})
		if w > 0 && t < cells[w-1].t {
			// A late new value goes before the newest one.
			cells[w-1], cells[w] = cells[w], cells[w-1]
		}
		n++
	default:
		// Full: the count saturates. Replacing the value seen longest ago
		// (when v is newer) lets the count fall as the burst ages out.
		c.saturated.Add(1)
		if t > oldestT {
			if oldestT <= from {
				n++
			}
			cells[oldest] = cell{v: v, t: t}
			newestLast(cells, oldest)
		}
	}
	return cells, n
}

// newestLast restores the invariant that the last cell is the newest after
// cell i got a newer time; the other cells were in order already.
func newestLast(cells []cell, i int) {
	last := len(cells) - 1
	if cells[i].t > cells[last].t {
		cells[i], cells[last] = cells[last], cells[i]
	}
}

// countDistinct counts the values last seen after from. A value last seen
// after the window's end counts too: its earlier sightings are not kept, and
// only a late event's count looks back past the newest time.
func countDistinct(cells []cell, from int64) int {
	n := 0
	for _, x := range cells {
		if x.t > from {
			n++
		}
	}
	return n
}

// removeValue deletes value v from a distinct key's cells and reports
// whether it was there.
func removeValue(cells []cell, v uint64) ([]cell, bool) {
	i := slices.IndexFunc(cells, func(x cell) bool { return x.v == v })
	if i < 0 {
		return cells, false
	}
	cells = slices.Delete(cells, i, i+1)
	if len(cells) > 0 {
		// v may have been the newest; put the new newest last.
		j := 0
		for k := range cells {
			if cells[k].t > cells[j].t {
				j = k
			}
		}
		newestLast(cells, j)
	}
	return cells, true
}
