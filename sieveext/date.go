package sieveext

import (
	"context"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/foxcpp/go-sieve/interp"
	"github.com/foxcpp/go-sieve/parser"
)

// The date and currentdate tests (RFC 5260 §4, §5) compute one string, the
// requested date-part, and match it against the keys. The matching is the
// library's "header" test, loaded with the script's own match type,
// comparator and keys but with a field name no message can have (dateField);
// at Check time the message is overlaid so that this name answers with the
// computed value. That reuses match types, comparators, relational :value and
// :count and match variables exactly, including this package's :regex.

// dateField contains a space, which RFC 5322 §3.6.8 forbids in a field name,
// so it never collides with a real header field.
const dateField = "sieveext date-part"

// DateTest is the date test; CurrentDate (header unused) is currentdate.
type DateTest struct {
	Current      bool
	Header       string
	Part         string
	Zone         string // "" means the local zone, unless OriginalZone
	OriginalZone bool
	Index        int
	Last         bool

	// Match is the library's header test over dateField, exported so that
	// the script survives Script.Save (gob).
	Match interp.Test
}

var dateParts = map[string]bool{
	"year": true, "month": true, "day": true, "date": true, "julian": true,
	"hour": true, "minute": true, "second": true, "time": true,
	"iso8601": true, "std11": true, "zone": true, "weekday": true,
}

// matchTagsWithValue are the library's match tags that take a value; their
// value is not one of the test's positional arguments.
var matchTagsWithValue = map[string]bool{"comparator": true, "value": true, "count": true}

func loadDate(s *interp.Script, t parser.Test) (interp.Test, error) {
	return loadDateTest(s, t, false)
}

func loadCurrentDate(s *interp.Script, t parser.Test) (interp.Test, error) {
	return loadDateTest(s, t, true)
}

func loadDateTest(s *interp.Script, t parser.Test, current bool) (interp.Test, error) {
	if !s.RequiresExtension("date") {
		return nil, parser.ErrorAt(t.Position, "missing require 'date'")
	}
	spec := map[string]bool{"zone": true}
	if !current {
		spec["originalzone"] = false
		spec["index"] = true
		spec["last"] = false
	}
	rest, got, err := takeTags(t.Args, spec)
	if err != nil {
		return nil, err
	}
	loaded := &DateTest{Current: current}
	if arg, ok := got["zone"]; ok {
		if _, both := got["originalzone"]; both {
			return nil, parser.ErrorAt(t.Position, "date: :zone and :originalzone are mutually exclusive")
		}
		z, ok := argString(arg)
		if !ok {
			return nil, parser.ErrorAt(t.Position, ":zone needs a string")
		}
		if !hasVars(s, z) {
			if _, err := parseZone(z); err != nil {
				return nil, parser.ErrorAt(t.Position, "date: %v", err)
			}
		}
		loaded.Zone = z
	}
	_, loaded.OriginalZone = got["originalzone"]
	if !current {
		loaded.Index, loaded.Last, _, err = parseIndex(s, t, got)
		if err != nil {
			return nil, err
		}
	}

	// Split what is left into the match tags (for the header test) and our
	// positional arguments: [<header-name>] <date-part> <key-list>.
	var matchArgs, pos []parser.Arg
	for i := 0; i < len(rest); i++ {
		if tag, ok := rest[i].(parser.TagArg); ok {
			matchArgs = append(matchArgs, tag)
			if matchTagsWithValue[strings.ToLower(tag.Value)] && i+1 < len(rest) {
				i++
				matchArgs = append(matchArgs, rest[i])
			}
			continue
		}
		pos = append(pos, rest[i])
	}
	want := 3
	if current {
		want = 2
	}
	if len(pos) != want {
		return nil, parser.ErrorAt(t.Position, "%s: wants %d positional arguments, got %d", t.Id, want, len(pos))
	}
	if !current {
		h, ok := argString(pos[0])
		if !ok {
			return nil, parser.ErrorAt(t.Position, "date: header name must be one string")
		}
		loaded.Header = h
		pos = pos[1:]
	}
	part, ok := argString(pos[0])
	if !ok {
		return nil, parser.ErrorAt(t.Position, "%s: date-part must be one string", t.Id)
	}
	if !hasVars(s, part) && !dateParts[strings.ToLower(part)] {
		return nil, parser.ErrorAt(t.Position, "%s: unknown date-part %q", t.Id, part)
	}
	loaded.Part = part

	header := parser.Test{
		Position: t.Position,
		Id:       "header",
		Args: append(matchArgs,
			parser.StringListArg{Value: []string{dateField}, Position: t.Position},
			pos[1]),
	}
	loaded.Match, err = tests["header"](s, header)
	if err != nil {
		return nil, err
	}
	return loaded, nil
}

// Check computes the date-part and matches it. A missing field or one whose
// date does not parse yields no value: the test is false, :count counts 0
// (RFC 5260 §4).
func (t *DateTest) Check(ctx context.Context, d *interp.RuntimeData) (bool, error) {
	var when time.Time
	var have bool
	if t.Current {
		when, have = RunFrom(ctx).now(), true
	} else {
		values, err := d.Msg.HeaderGet(expand(d, t.Header))
		if err != nil {
			return false, err
		}
		if t.Index > 0 {
			values = pickIndex(values, t.Index, t.Last)
		} else if len(values) > 1 {
			values = values[:1] // the first occurrence, as Pigeonhole does
		}
		if len(values) == 1 {
			when, have = parseFieldDate(values[0])
		}
	}

	var computed []string
	if have {
		switch {
		case t.Zone != "":
			loc, err := parseZone(expand(d, t.Zone))
			if err != nil {
				return false, nil // RFC 5260 §4.1: an invalid zone fails the test
			}
			when = when.In(loc)
		case t.OriginalZone && !t.Current:
			// keep the zone written in the field
		default:
			when = when.In(time.Local)
		}
		if v, ok := datePart(when, strings.ToLower(expand(d, t.Part))); ok {
			computed = []string{v}
		}
	}

	msg := d.Msg
	return withOverlay(d, func(key string) ([]string, error) {
		if key == dateField {
			return computed, nil
		}
		return msg.HeaderGet(key)
	}, func() (bool, error) { return t.Match.Check(ctx, d) })
}

// parseFieldDate reads an RFC 5322 date-time. For fields such as Received
// that put the date after a ";", the part after the last ";" is tried.
func parseFieldDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	if i := strings.LastIndexByte(v, ';'); i >= 0 {
		if t, err := mail.ParseDate(strings.TrimSpace(v[i+1:])); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseZone reads a :zone argument, "+hhmm" or "-hhmm" (RFC 5260 §4.1).
func parseZone(z string) (*time.Location, error) {
	if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
		return nil, fmt.Errorf("invalid zone %q (want +hhmm or -hhmm)", z)
	}
	hh, err1 := strconv.Atoi(z[1:3])
	mm, err2 := strconv.Atoi(z[3:5])
	if err1 != nil || err2 != nil || hh > 23 || mm > 59 {
		return nil, fmt.Errorf("invalid zone %q (want +hhmm or -hhmm)", z)
	}
	off := (hh*60 + mm) * 60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone(z, off), nil
}

// datePart formats the date-parts of RFC 5260 §4.2.
func datePart(t time.Time, part string) (string, bool) {
	switch part {
	case "year":
		return fmt.Sprintf("%04d", t.Year()), true
	case "month":
		return t.Format("01"), true
	case "day":
		return t.Format("02"), true
	case "date":
		return fmt.Sprintf("%04d-%s", t.Year(), t.Format("01-02")), true
	case "julian":
		// Modified Julian Day: days since 1858-11-17, which is Unix day -40587.
		y, m, dd := t.Date()
		days := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Unix() / 86400
		return strconv.FormatInt(days+40587, 10), true
	case "hour":
		return t.Format("15"), true
	case "minute":
		return t.Format("04"), true
	case "second":
		return t.Format("05"), true
	case "time":
		return t.Format("15:04:05"), true
	case "iso8601":
		return t.Format("2006-01-02T15:04:05-07:00"), true
	case "std11":
		return t.Format("Mon, 02 Jan 2006 15:04:05 -0700"), true
	case "zone":
		return t.Format("-0700"), true
	case "weekday":
		return strconv.Itoa(int(t.Weekday())), true
	}
	return "", false
}
