package sieveext

import (
	"context"

	"github.com/foxcpp/go-sieve/interp"
	"github.com/foxcpp/go-sieve/parser"
)

// IndexTest is a header or address test restricted by :index (RFC 5260 §6)
// to the Index'th occurrence of each named field, counted from the top, or
// from the bottom with Last. The wrapped test is the library's own, so match
// types, comparators and :count behave exactly as without :index; it reads
// the message through an overlay that shows only the selected occurrence.
type IndexTest struct {
	Test  interp.Test
	Index int
	Last  bool
}

// parseIndex reads :index and :last out of got, as taken by takeTags.
// RFC 5260 §6: the index is 1-based, :last needs :index, and both need the
// "index" extension. ok is false when no :index was given.
func parseIndex(s *interp.Script, pos parser.Test, got map[string]parser.Arg) (index int, last, ok bool, err error) {
	_, last = got["last"]
	arg, ok := got["index"]
	if !ok {
		if last {
			return 0, false, false, parser.ErrorAt(pos.Position, ":last requires :index")
		}
		return 0, false, false, nil
	}
	if !s.RequiresExtension("index") {
		return 0, false, false, parser.ErrorAt(pos.Position, "missing require 'index'")
	}
	n, isNum := argNumber(arg)
	if !isNum {
		return 0, false, false, parser.ErrorAt(pos.Position, ":index needs a number")
	}
	if n < 1 {
		return 0, false, false, parser.ErrorAt(pos.Position, ":index must be 1 or more")
	}
	return n, last, true, nil
}

// pickIndex returns the index'th of values (1-based; from the end when
// last), or nothing when there are fewer.
func pickIndex(values []string, index int, last bool) []string {
	if index < 1 || index > len(values) {
		return nil
	}
	i := index - 1
	if last {
		i = len(values) - index
	}
	return values[i : i+1]
}

func wrapIndex(orig testFactory) testFactory {
	return func(s *interp.Script, t parser.Test) (interp.Test, error) {
		rest, got, err := takeTags(t.Args, map[string]bool{"index": true, "last": false})
		if err != nil {
			return nil, err
		}
		index, last, ok, err := parseIndex(s, t, got)
		if err != nil {
			return nil, err
		}
		if !ok {
			return orig(s, t)
		}
		t.Args = rest
		inner, err := orig(s, t)
		if err != nil {
			return nil, err
		}
		return IndexTest{Test: inner, Index: index, Last: last}, nil
	}
}

func (t IndexTest) Check(ctx context.Context, d *interp.RuntimeData) (bool, error) {
	msg := d.Msg
	return withOverlay(d, func(key string) ([]string, error) {
		values, err := msg.HeaderGet(key)
		if err != nil {
			return nil, err
		}
		return pickIndex(values, t.Index, t.Last), nil
	}, func() (bool, error) { return t.Test.Check(ctx, d) })
}
