package sieveext

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/foxcpp/go-sieve/interp"
	"github.com/foxcpp/go-sieve/parser"
)

// takeTags removes from args the tagged arguments named in spec, together
// with the value that follows a tag whose spec entry is true, and returns the
// remaining arguments in their order. The library's own loader then sees only
// the syntax it knows. A tag given twice is an error (RFC 5228 §2.6.2).
func takeTags(args []parser.Arg, spec map[string]bool) (rest []parser.Arg, got map[string]parser.Arg, err error) {
	got = map[string]parser.Arg{}
	for i := 0; i < len(args); i++ {
		tag, ok := args[i].(parser.TagArg)
		if !ok {
			rest = append(rest, args[i])
			continue
		}
		name := strings.ToLower(tag.Value)
		needsValue, mine := spec[name]
		if !mine {
			rest = append(rest, args[i])
			continue
		}
		if _, dup := got[name]; dup {
			return nil, nil, parser.ErrorAt(tag.Position, "tag :%s given more than once", name)
		}
		got[name] = tag
		if needsValue {
			if i+1 >= len(args) {
				return nil, nil, parser.ErrorAt(tag.Position, "tag :%s needs a value", name)
			}
			if _, isTag := args[i+1].(parser.TagArg); isTag {
				return nil, nil, parser.ErrorAt(tag.Position, "tag :%s needs a value", name)
			}
			i++
			got[name] = args[i]
		}
	}
	return rest, got, nil
}

// argNumber and argString read a tag's value taken by takeTags.
func argNumber(a parser.Arg) (int, bool) {
	n, ok := a.(parser.NumberArg)
	return n.Value, ok
}

func argString(a parser.Arg) (string, bool) {
	switch a := a.(type) {
	case parser.StringArg:
		return a.Value, true
	case parser.StringListArg:
		if len(a.Value) == 1 {
			return a.Value[0], true
		}
	}
	return "", false
}

// variableRef is the syntax of RFC 5229 §3 variable-ref, as interp uses it.
var variableRef = regexp.MustCompile(`\${(?:[a-zA-Z_][a-zA-Z0-9_]*\.(?:(?:[a-zA-Z_][a-zA-Z0-9_]*|[0-9]+)\.)*)?(?:[a-zA-Z_][a-zA-Z0-9_]*|[0-9]+)}`)

// hasVars reports whether s refers to a variable in a script that requires
// "variables" (only then is "${...}" special, RFC 5229 §3).
func hasVars(s *interp.Script, v string) bool {
	return s.RequiresExtension("variables") && variableRef.MatchString(v)
}

// expand substitutes variables in v as interp does (its expandVars is
// unexported). An unknown namespace expands to "" rather than panicking.
func expand(d *interp.RuntimeData, v string) string {
	if !d.Script.RequiresExtension("variables") {
		return v
	}
	return variableRef.ReplaceAllStringFunc(v, func(ref string) string {
		name := ref[2 : len(ref)-1]
		if n, err := strconv.Atoi(name); err == nil && n >= 0 {
			return d.MatchVariable(n)
		}
		val, err := d.Var(name)
		if err != nil {
			return ""
		}
		return val
	})
}

func expandList(d *interp.RuntimeData, l []string) []string {
	if l == nil {
		return nil
	}
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = expand(d, v)
	}
	return out
}

// overlay is a Message that answers HeaderGet from a fixed function and
// everything else from the real message. date and :index use it to feed the
// library's own header matching (match types, comparators, relational,
// match variables) with values they compute; see withOverlay.
type overlay struct {
	interp.Message
	get func(key string) ([]string, error)
}

func (o overlay) HeaderGet(key string) ([]string, error) { return o.get(key) }

// withOverlay runs check with d.Msg replaced by an overlay, and restores
// d.Msg afterwards whatever check does. RuntimeData is per execution, so the
// swap is not visible to anything running concurrently.
func withOverlay(d *interp.RuntimeData, get func(key string) ([]string, error), check func() (bool, error)) (bool, error) {
	orig := d.Msg
	d.Msg = overlay{Message: orig, get: get}
	defer func() { d.Msg = orig }()
	return check()
}
