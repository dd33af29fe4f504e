package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Error is one error of one key of a configuration file.
type Error struct {
	Path string
	Line int    // 1-based; 0 when the file has no line for it
	Key  string // "lock_timeout", "lmtp.timeout"; "" for an unknown key
	Err  error
}

// Error is "PATH:LINE: KEY: ERR", the form of a compiler's message, which
// editors jump to.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errors are every error of one configuration file, sorted by line: an
// operator fixes them in one edit instead of one per run.
type Errors []*Error

// Error is one line per error.
func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Sizes. A size is a whole number of bytes, or a string of one with a
// unit: k, M, G, T are powers of 1024, as in Dovecot's quota settings
// ("10M" is 10485760); a trailing B ("10MB") is allowed. Postfix's limits
// are plain bytes, and a plain integer still is.
const sizeForm = `a size such as 10485760, "10M" or "1G"`

// ParseSize parses a size string: digits, then optionally one of k, M, G,
// T (either case), then optionally B.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSuffix(s, "B")
	mult := int64(1)
	if len(t) > 0 {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	// Digits only: no sign, no space, no fraction ("1.5G" is refused
	// rather than rounded).
	if t == "" || strings.Trim(t, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not %s", s, sizeForm)
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large a size", s)
	}
	return n * mult, nil
}

// examples are shown in the error of a key whose default is empty.
var examples = map[string]string{
	"home_mailbox":     `"Maildir/"`,
	"sieve_before":     `["/etc/letterbox/before.sieve"]`,
	"sieve_after":      `["/etc/letterbox/after.sieve"]`,
	"lmtp.mailbox":     `"/srv/mail/{domain}/{user}/"`,
	"sieve_script":     `"~/.dovecot.sieve"`,
	"sieve_global_dir": `"/etc/letterbox/sieve"`,
}

var durationType = reflect.TypeFor[Duration]()

// decoder sets the fields of a Config from the decoded TOML, collecting an
// error per key instead of stopping at the first, as go-toml's decoder
// does (and whose messages name Go types, not the forms a user writes).
type decoder struct {
	lines map[string]int // key (dotted) -> line
	errs  []*keyError
}

// table sets the fields of the struct v from raw; prefix is "" or "lmtp.".
func (d *decoder) table(prefix string, raw map[string]any, v reflect.Value) {
	fields := map[string]reflect.Value{}
	t := v.Type()
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("toml"); name != "" {
			fields[name] = v.Field(i)
		}
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		f, ok := fields[k]
		if !ok {
			d.errs = append(d.errs, &keyError{key: prefix + k, unknown: true, err: unknownKey(prefix, k, fields)})
			continue
		}
		if err := d.value(prefix+k, raw[k], f); err != nil {
			d.errs = append(d.errs, &keyError{key: prefix + k, err: err})
		}
	}
}

// unknownKey is the error of an unknown key, with the known key it is
// closest to when it looks like a typo of one.
func unknownKey(prefix, k string, fields map[string]reflect.Value) error {
	best, dist := "", 3
	for name := range fields {
		if d := distance(k, name); d < dist || d == dist && name < best {
			best, dist = name, d
		}
	}
	if best != "" {
		return fmt.Errorf("unknown key %s%s (did you mean %s%s?)", prefix, k, prefix, best)
	}
	return fmt.Errorf("unknown key %s%s", prefix, k)
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// value sets f, the field of key, from v, or says what form key wants.
func (d *decoder) value(key string, v any, f reflect.Value) error {
	def := f.Interface()
	switch {
	case f.Type() == durationType:
		s, ok := v.(string)
		if !ok {
			if n, isInt := v.(int64); isInt {
				// lock_timeout = 30: 30 of what? Not nanoseconds.
				return fmt.Errorf("want a duration such as \"%ds\" or \"5m\", not the bare number %d", n, n)
			}
			return fmt.Errorf("want a duration such as \"30s\" or \"5m\", not %s", describe(v))
		}
		var x Duration
		if err := x.UnmarshalText([]byte(s)); err != nil {
			return err
		}
		f.Set(reflect.ValueOf(x))
	case f.Kind() == reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("want a table ([%s]), not %s", key, describe(v))
		}
		d.table(key+".", m, f)
	case f.Kind() == reflect.String:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string such as %s, not %s", example(key, def), describe(v))
		}
		f.SetString(s)
	case f.Kind() == reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want true or false, not %s", describe(v))
		}
		f.SetBool(b)
	case f.Kind() == reflect.Int64: // the sizes (see sizeForm)
		switch x := v.(type) {
		case int64:
			if x < 0 {
				return fmt.Errorf("must not be negative: want %s, or 0 for no limit", sizeForm)
			}
			f.SetInt(x)
		case string:
			n, err := ParseSize(x)
			if err != nil {
				return err
			}
			f.SetInt(n)
		default:
			return fmt.Errorf("want %s, not %s", sizeForm, describe(v))
		}
	case f.Kind() == reflect.Int:
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("want a whole number such as %d, not %s", def, describe(v))
		}
		if int64(int(n)) != n {
			return fmt.Errorf("%d is too large", n)
		}
		f.SetInt(n)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want an array of strings such as %s, not %s", example(key, def), describe(v))
		}
		out := make([]string, 0, len(a))
		for i, e := range a {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("element %d: want a string, not %s", i+1, describe(e))
			}
			out = append(out, s)
		}
		f.Set(reflect.ValueOf(out))
	default:
		// A field of a type added to Config without a case here.
		panic(fmt.Sprintf("config: no decoding for %s (%s)", key, f.Type()))
	}
	return nil
}

// example is a value of key for an error message: its default when that
// shows the form, else one from examples.
func example(key string, def any) string {
	if e, ok := examples[key]; ok {
		return e
	}
	switch x := def.(type) {
	case string:
		return strconv.Quote(x)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprint(def)
}

// describe names a decoded TOML value as the file wrote it.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return "the string " + strconv.Quote(x)
	case int64:
		return "the number " + strconv.FormatInt(x, 10)
	case float64:
		return "the number " + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return "the boolean " + strconv.FormatBool(x)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time, toml.LocalDate, toml.LocalTime, toml.LocalDateTime:
		return "a date or time"
	}
	return fmt.Sprintf("a %T", v)
}

// keyLines returns the line of every key src sets, by its dotted name
// ("lmtp.timeout"), including keys in inline tables and dotted keys. src
// has parsed already.
func keyLines(src []byte) map[string]int {
	lines := map[string]int{}
	p := unstable.Parser{}
	p.Reset(src)
	var table []string
	var keyOf func(n *unstable.Node, base []string)
	keyOf = func(n *unstable.Node, base []string) {
		it := n.Key()
		k := append([]string{}, base...)
		line := 0
		for it.Next() {
			kn := it.Node()
			if line == 0 {
				line = p.Shape(kn.Raw).Start.Line
			}
			k = append(k, string(kn.Data))
			if _, seen := lines[strings.Join(k, ".")]; !seen {
				lines[strings.Join(k, ".")] = line
			}
		}
		if n.Kind != unstable.KeyValue {
			table = k
			return
		}
		if v := n.Value(); v.Kind == unstable.InlineTable {
			c := v.Children()
			for c.Next() {
				keyOf(c.Node(), k)
			}
		}
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			keyOf(e, nil)
		case unstable.KeyValue:
			keyOf(e, table)
		}
	}
	return lines
}

// syntaxError is the error of a file that does not parse: one, with its
// line.
func syntaxError(path string, err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return Errors{{Path: path, Line: row, Err: errors.New(de.Error())}}
	}
	return fmt.Errorf("%s: %w", path, err)
}
