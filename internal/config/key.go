package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// key declares one key of a table — [daemon], a jail ([defaults] and
// [jails.NAME]) or a jail's increment table — once: its name, type,
// default and documentation, how it is decoded and checked, how `config
// show` writes it and, for jail keys, how it is carried over from Fail2ban.
// Everything else is derived from the declaration: the defaults, the
// decoding with its suggestions for typos, `config show`, `run --fail2ban`
// and the key tables in docs/CONFIG.md (TestDocs checks them).
type key[T any] struct {
	name string // the TOML key
	typ  string // the value's type, as the docs name it
	// def is the default, as the TOML parser would return it (bool, int64,
	// float64, string or []any); it is decoded like a value in a file, so
	// it passes the same checks. nil: no default (the zero value).
	def any
	// defDoc is the default as the docs write it, when def does not say it
	// ("the jail name").
	defDoc string
	// fail2ban is Fail2ban's name for the key; "" when Fail2ban has none.
	fail2ban string
	doc      string // one line for the docs
	// decode checks the value at n and stores it in v, reporting problems
	// through d.
	decode func(d *decoder, n *node, v *T)
	// late keys are decoded after the table's other keys, whatever their
	// order in the file (mode refines whichever filter the table sets).
	late bool
	// show returns the value `config show` writes; nil: the key is not
	// written, because another key shows its effect.
	show      func(v *T) any
	omitEmpty bool // config show leaves the key out when its value is empty
	// fromFail2ban translates the interpolated value v of the Fail2ban
	// option (empty when the jail does not set it) into the value of the
	// rampart layer; nil or "" writes nothing, so rampart's default (or its
	// built-in jail's value) applies.
	fromFail2ban func(f *f2bJail, v string) (any, error)
}

func keyNames[T any](keys []key[T]) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.name
	}
	return out
}

// decodeTable applies every key of table t to v, in file order, then the
// late keys. A key the table does not declare is refused with hint's advice
// when hint knows the name, with the rampart name of a Fail2ban name (its
// bantime. prefix dropped, as the increment table drops it), or with a
// suggestion.
func decodeTable[T any](d *decoder, t *node, keys []key[T], v *T, hint func(name string) string) {
	var late []*node
	for _, n := range t.sortedKids() {
		name := n.path[len(n.path)-1]
		i := slices.IndexFunc(keys, func(k key[T]) bool { return k.name == name })
		switch {
		case i < 0:
			h := ""
			if hint != nil {
				h = hint(name)
			}
			if j := slices.IndexFunc(keys, func(k key[T]) bool {
				return k.fail2ban != "" && !strings.Contains(k.fail2ban, "*") && (k.fail2ban == name || strings.TrimPrefix(k.fail2ban, "bantime.") == name)
			}); h == "" && j >= 0 {
				h = fmt.Sprintf("Fail2ban's %s is %s here", keys[j].fail2ban, keys[j].name)
			}
			d.unknown(n, keyNames(keys), h)
		case keys[i].late:
			late = append(late, n)
		default:
			keys[i].decode(d, n, v)
		}
	}
	for _, n := range late {
		name := n.path[len(n.path)-1]
		keys[slices.IndexFunc(keys, func(k key[T]) bool { return k.name == name })].decode(d, n, v)
	}
}

// defaults returns a T holding every key's default, decoded as if a file
// had set it. A default that does not decode is a mistake in the
// declaration, caught by every test that loads a configuration.
func defaults[T any](keys []key[T]) T {
	var v T
	d := &decoder{}
	for _, k := range keys {
		if k.def != nil {
			k.decode(d, &node{path: []string{k.name}, file: BuiltinName, line: 1, val: k.def}, &v)
		}
	}
	if len(d.errs) > 0 {
		panic("config: a declared default does not decode: " + d.errs.Error())
	}
	return v
}

// showTable returns v's table as `config show` writes it.
func showTable[T any](keys []key[T], v *T) any {
	var fields []field
	for _, k := range keys {
		if k.show != nil {
			fields = append(fields, field{name: k.name, val: k.show(v), omitEmpty: k.omitEmpty})
		}
	}
	return table(fields)
}

// field is one key of a table being written.
type field struct {
	name      string
	val       any
	omitEmpty bool
}

// table builds a struct with one field per key, tagged for TOML and JSON,
// so that both encoders write the keys in declaration order (a map would
// sort them) without a hand-written struct per table.
func table(fields []field) any {
	sf := make([]reflect.StructField, len(fields))
	for i, f := range fields {
		tag := f.name
		if f.omitEmpty {
			tag += ",omitempty"
		}
		sf[i] = reflect.StructField{
			Name: fmt.Sprintf("K%d", i),
			Type: reflect.TypeOf(f.val),
			Tag:  reflect.StructTag(fmt.Sprintf("toml:%q json:%q", tag, tag)),
		}
	}
	s := reflect.New(reflect.StructOf(sf)).Elem()
	for i, f := range fields {
		s.Field(i).Set(reflect.ValueOf(f.val))
	}
	return s.Interface()
}
