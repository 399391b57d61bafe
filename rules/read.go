package rules

import (
	"fmt"
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

// Assign sets the signal name (as rules write it) in env to value, converting
// YAML or JSON scalars (a whole float to an int, an int to a float, a list
// of strings). Rule tests use it to give an event what reference data would
// have found. velocity and event.properties cannot be assigned: counters
// count, and properties come with the event.
func Assign(env *signals.Set, name string, value any) error {
	idx, ok := signalFields()[name]
	if !ok || name == "velocity" || name == "event.properties" {
		return fmt.Errorf("%s is not a signal that can be set%s", name,
			suggestName(name, SignalNames()))
	}
	f := reflect.ValueOf(env).Elem().FieldByIndex(idx)
	v, err := convert(value, f.Type())
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	f.Set(v)
	return nil
}

func convert(value any, t reflect.Type) (reflect.Value, error) {
	bad := fmt.Errorf("%v (%T) is not a %s", value, value, kindName(t))
	switch t.Kind() {
	case reflect.String:
		if s, ok := value.(string); ok {
			return reflect.ValueOf(s), nil
		}
	case reflect.Bool:
		if b, ok := value.(bool); ok {
			return reflect.ValueOf(b), nil
		}
	case reflect.Int:
		switch n := value.(type) {
		case int:
			return reflect.ValueOf(n), nil
		case float64:
			if n == float64(int(n)) {
				return reflect.ValueOf(int(n)), nil
			}
		}
	case reflect.Float64:
		switch n := value.(type) {
		case int:
			return reflect.ValueOf(float64(n)), nil
		case float64:
			return reflect.ValueOf(n), nil
		}
	case reflect.Slice:
		items, ok := value.([]any)
		if !ok || t.Elem().Kind() != reflect.String {
			return reflect.Value{}, bad
		}
		out := make([]string, len(items))
		for i, it := range items {
			if out[i], ok = it.(string); !ok {
				return reflect.Value{}, bad
			}
		}
		return reflect.ValueOf(out), nil
	}
	return reflect.Value{}, bad
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "whole number"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		return "list of strings"
	}
	return t.String()
}
