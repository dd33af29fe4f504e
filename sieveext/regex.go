package sieveext

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"github.com/foxcpp/go-sieve/interp"
	"github.com/foxcpp/go-sieve/parser"
)

// The :regex match type (draft-murchison-sieve-regex-08) for the header,
// address, envelope and string tests, and through them for date and
// currentdate.
//
// The library's match types are unexported, so :regex cannot be plugged into
// its matcher. Instead the wrapper loads the test with the library's own
// loader, :regex replaced by :is, so that every syntax check (comparator,
// conflicting match types, argument counts, requires) stays the library's;
// it then takes the fields and keys from the loaded test and matches with Go's
// regexp. Differences from POSIX extended regular expressions (which the
// draft specifies): Go's RE2 syntax is a superset (\d, (?:...), non-greedy
// operators are accepted), back-references are rejected, and matching is
// leftmost-longest as POSIX requires. i;octet matches case-sensitively;
// i;ascii-casemap and i;unicode-casemap case-insensitively (Unicode simple
// folding for both); i;ascii-numeric is refused.
//
// Address parts :user and :detail split at "+": the library's configured
// separator (Options.SubAddressSep) is not readable from outside interp.

// RegexTest is a header, address, envelope or string test with :regex.
type RegexTest struct {
	Kind        string   // "header", "address", "envelope" or "string"
	Fields      []string // header names, envelope parts or source strings
	AddressPart interp.AddressPart
	CaseFold    bool
	Keys        []string

	compiled []*regexp.Regexp // per key; nil where the key uses variables
}

func wrapRegex(kind string, orig testFactory) testFactory {
	return func(s *interp.Script, t parser.Test) (interp.Test, error) {
		rest, got, err := takeTags(t.Args, map[string]bool{"regex": false})
		if err != nil {
			return nil, err
		}
		tag, ok := got["regex"]
		if !ok {
			return orig(s, t)
		}
		if !s.RequiresExtension("regex") {
			return nil, parser.ErrorAt(t.Position, "missing require 'regex'")
		}
		// :is stands in for :regex so the library still refuses a second
		// match type; its own matching is never used.
		t.Args = append([]parser.Arg{parser.TagArg{Value: "is", Position: tag.(parser.TagArg).Position}}, rest...)
		inner, err := orig(s, t)
		if err != nil {
			return nil, err
		}
		rt := &RegexTest{Kind: kind}
		var cmp interp.Comparator
		switch it := inner.(type) {
		case interp.HeaderTest:
			rt.Fields, rt.Keys, cmp = it.Header, it.Key, it.Comparator
		case interp.AddressTest:
			rt.Fields, rt.Keys, cmp, rt.AddressPart = it.Header, it.Key, it.Comparator, it.AddressPart
		case interp.EnvelopeTest:
			rt.Fields, rt.Keys, cmp, rt.AddressPart = it.Field, it.Key, it.Comparator, it.AddressPart
		case interp.TestString:
			rt.Fields, rt.Keys, cmp = it.Source, it.Key, it.Comparator
		default:
			return nil, fmt.Errorf("%s :regex: unexpected test type %T", kind, inner)
		}
		switch cmp {
		case interp.ComparatorOctet:
		case interp.ComparatorASCIICaseMap, interp.ComparatorUnicodeCaseMap, "":
			rt.CaseFold = true
		default:
			// draft-murchison-sieve-regex §3: only comparators that can
			// compare substrings are usable.
			return nil, parser.ErrorAt(t.Position, ":regex cannot be used with comparator %q", cmp)
		}
		rt.compiled = make([]*regexp.Regexp, len(rt.Keys))
		for i, k := range rt.Keys {
			if hasVars(s, k) {
				continue
			}
			re, err := compileRegex(k, rt.CaseFold)
			if err != nil {
				return nil, parser.ErrorAt(t.Position, ":regex: %v", err)
			}
			rt.compiled[i] = re
		}
		return rt, nil
	}
}

func compileRegex(expr string, fold bool) (*regexp.Regexp, error) {
	if fold {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	re.Longest() // POSIX leftmost-longest
	return re, nil
}

func (t *RegexTest) Check(ctx context.Context, d *interp.RuntimeData) (bool, error) {
	values, err := t.values(d)
	if err != nil {
		return false, err
	}
	for _, v := range values {
		for i, k := range t.Keys {
			var re *regexp.Regexp
			if i < len(t.compiled) { // compiled is lost by Script.Save/Restore
				re = t.compiled[i]
			}
			if re == nil {
				if re, err = compileRegex(expand(d, k), t.CaseFold); err != nil {
					return false, fmt.Errorf(":regex %q: %w", k, err)
				}
			}
			m := re.FindStringSubmatch(v)
			if m == nil {
				continue
			}
			// draft-murchison-sieve-regex §4: ${0} is the whole match,
			// ${1}..${9} the first nine groups (RFC 5229 §3.2).
			if d.Script.RequiresExtension("variables") {
				if len(m) > 10 {
					m = m[:10]
				}
				d.MatchVariables = m
			}
			return true, nil
		}
	}
	return false, nil
}

func (t *RegexTest) values(d *interp.RuntimeData) ([]string, error) {
	var out []string
	for _, f := range t.Fields {
		f = expand(d, f)
		switch t.Kind {
		case "string":
			out = append(out, f)
		case "header":
			vs, err := d.Msg.HeaderGet(f)
			if err != nil {
				return nil, err
			}
			out = append(out, vs...)
		case "address":
			vs, err := d.Msg.HeaderGet(f)
			if err != nil {
				return nil, err
			}
			for _, v := range vs {
				list, err := mail.ParseAddressList(v)
				if err != nil {
					continue // as the library: an unparsable field matches nothing
				}
				for _, a := range list {
					if p, ok := addressPart(a.Address, t.AddressPart); ok {
						out = append(out, p)
					}
				}
			}
		case "envelope":
			var v string
			switch strings.ToLower(f) {
			case "from":
				v = d.Envelope.EnvelopeFrom()
			case "to":
				v = d.Envelope.EnvelopeTo()
			case "auth":
				v = d.Envelope.AuthUsername()
			default:
				return nil, fmt.Errorf("envelope: unsupported envelope-part: %v", f)
			}
			if v == "<>" {
				v = ""
			}
			if p, ok := addressPart(v, t.AddressPart); ok {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// addressPart extracts an address part (RFC 5228 §2.7.4, RFC 5233 §4). ok
// is false when the part does not exist: no "@" for :localpart/:domain, no
// detail for :detail.
func addressPart(addr string, part interp.AddressPart) (string, bool) {
	if part == interp.All || part == "" {
		return addr, true
	}
	if addr == "" {
		return "", part != interp.Detail
	}
	local, domain := addr, ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, domain = addr[:i], addr[i+1:]
	} else if !strings.EqualFold(addr, "postmaster") {
		return "", false
	}
	switch part {
	case interp.LocalPart:
		return local, true
	case interp.Domain:
		return domain, true
	case interp.User:
		user, _, _ := strings.Cut(local, "+")
		return user, true
	case interp.Detail:
		_, detail, ok := strings.Cut(local, "+")
		return detail, ok
	}
	return "", false
}
