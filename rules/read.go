package rules

import (
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/verdictrisk/verdict/signals"
)

// Read returns the value of a signal as rules name it (ip.country,
// velocity.failed_logins_per_ip, event.properties.plan, missing(geo)) in
// env, for explanations and rule tests. ok is false for a name that env does
// not hold.
func (s *Set) Read(env *signals.Set, name string) (v any, ok bool) {
	if fam, found := strings.CutPrefix(name, "missing("); found {
		f, known := signals.FamilyByName(strings.TrimSuffix(fam, ")"))
		return known && env.Missing.Has(f), known
	}
	if c, found := strings.CutPrefix(name, "velocity."); found {
		for _, k := range s.Counters {
			if k.Name == c && env.Velocity != nil {
				return env.Velocity[k.Index], true
			}
		}
		return nil, false
	}
	if rest, found := strings.CutPrefix(name, "event.properties."); found {
		return property(env.Event.Properties, rest)
	}
	idx, found := signalFields()[name]
	if !found {
		return nil, false
	}
	return reflect.ValueOf(env).Elem().FieldByIndex(idx).Interface(), true
}

// property walks a dotted path into the free-form properties.
func property(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// signalFields maps every signal name (event.type, ip.country) to its field
// in signals.Set.
var signalFields = sync.OnceValue(func() map[string][]int {
	out := map[string][]int{}
	var walk func(t reflect.Type, prefix string, idx []int)
	walk = func(t reflect.Type, prefix string, idx []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("expr")
			if tag == "" || tag == "-" {
				continue
			}
			name := prefix + tag
			at := append(append([]int(nil), idx...), i)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, name+".", at)
				continue
			}
			out[name] = at
		}
	}
	walk(reflect.TypeOf(signals.Set{}), "", nil)
	return out
})

// SignalNames lists every signal name rules can read, sorted; velocity
// counters and event.properties are not included.
func SignalNames() []string {
	var out []string
	for n := range signalFields() {
		if n != "velocity" && n != "event.properties" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
