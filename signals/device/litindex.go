package device

import "strings"

// litIndex finds which of many literals occur in a string in one pass over
// it. Literals of three bytes or more are filed under their first three
// bytes, so each position of the string costs one map lookup; the few
// shorter ones are searched for directly. Literals get dense ids in the
// order they are added.
type litIndex struct {
	lits     []string
	ids      map[string]int32
	byPrefix map[string][]int32
	short    []int32
}

func newLitIndex() *litIndex {
	return &litIndex{ids: make(map[string]int32), byPrefix: make(map[string][]int32)}
}

// add files lit, which must not be empty, and returns its id.
func (x *litIndex) add(lit string) int32 {
	if id, ok := x.ids[lit]; ok {
		return id
	}
	id := int32(len(x.lits))
	x.lits = append(x.lits, lit)
	x.ids[lit] = id
	if len(lit) < 3 {
		x.short = append(x.short, id)
	} else {
		x.byPrefix[lit[:3]] = append(x.byPrefix[lit[:3]], id)
	}
	return id
}

func (x *litIndex) len() int { return len(x.lits) }

// scan calls fn with the id of each literal found in s, short ones first,
// then by position (a literal found at several positions is reported for
// each), until fn returns false.
func (x *litIndex) scan(s string, fn func(id int32) bool) {
	for _, id := range x.short {
		if strings.Contains(s, x.lits[id]) && !fn(id) {
			return
		}
	}
	for i := 0; i+3 <= len(s); i++ {
		for _, id := range x.byPrefix[s[i:i+3]] {
			if strings.HasPrefix(s[i:], x.lits[id]) && !fn(id) {
				return
			}
		}
	}
}

// bitset marks literal ids.
type bitset []uint64

func newBitset(n int) bitset       { return make(bitset, (n+63)/64) }
func (b bitset) set(id int32)      { b[id/64] |= 1 << (id % 64) }
func (b bitset) has(id int32) bool { return b[id/64]&(1<<(id%64)) != 0 }
