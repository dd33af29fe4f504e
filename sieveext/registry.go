package sieveext

import (
	"encoding/gob"
	_ "unsafe" // for go:linkname

	"github.com/foxcpp/go-sieve/interp"
	"github.com/foxcpp/go-sieve/parser"
)

// go-sieve has no registration API: its command and test factories and the
// set of names "require" accepts are unexported package variables of interp.
// This file, and only this file, reaches them with go:linkname, so that the
// extensions in this package are written exactly as they would be inside
// interp. The upstream proposal is interp.RegisterCommand(name, factory),
// interp.RegisterTest(name, factory) and interp.RegisterExtension(name); with
// it this file becomes three calls and the linknames go away.
//
// The variables must keep the identical types; a change upstream breaks the
// build or, if only the name changes, the link — TestRegistryReached catches
// both.

//go:linkname commands github.com/foxcpp/go-sieve/interp.commands
var commands map[string]func(*interp.Script, parser.Cmd) (interp.Cmd, error)

//go:linkname tests github.com/foxcpp/go-sieve/interp.tests
var tests map[string]func(*interp.Script, parser.Test) (interp.Test, error)

//go:linkname supportedRequires github.com/foxcpp/go-sieve/interp.supportedRequires
var supportedRequires map[string]struct{}

type (
	cmdFactory  = func(*interp.Script, parser.Cmd) (interp.Cmd, error)
	testFactory = func(*interp.Script, parser.Test) (interp.Test, error)
)

// init runs after interp's init (Go initialises imported packages first), so
// the tables exist. Order matters where a factory wraps another: :regex wraps
// the library's match tests, :index wraps those, and date builds on the
// resulting "header" test so that it gets both.
func init() {
	for _, ext := range Extensions {
		supportedRequires[ext] = struct{}{}
	}

	for _, name := range []string{"header", "address", "envelope", "string"} {
		tests[name] = wrapRegex(name, tests[name])
	}
	for _, name := range []string{"header", "address"} {
		tests[name] = wrapIndex(tests[name])
	}
	tests["date"] = loadDate
	tests["currentdate"] = loadCurrentDate

	commands["vacation"] = loadVacation
	commands["reject"] = wrapReject(commands["reject"])
	commands["ereject"] = wrapReject(commands["ereject"])

	commands["fileinto"] = wrapFileIntoCreate(commands["fileinto"])
	tests["mailboxexists"] = loadMailboxExists

	commands["stop"] = wrapStop(commands["stop"])
	commands["include"] = loadInclude
	commands["return"] = loadReturn
	commands["global"] = loadGlobal

	tests["duplicate"] = loadDuplicate
}

// Script.Save encodes the loaded commands with gob, as interp registers its own.
func init() {
	for _, v := range []any{
		&CmdVacation{}, CmdRejectChecked{}, CmdFileIntoCreate{}, MailboxExistsTest{},
		&DateTest{}, IndexTest{}, &RegexTest{}, CmdInclude{}, CmdReturn{}, CmdStop{},
		CmdGlobal{}, DuplicateTest{},
	} {
		gob.Register(v)
	}
}
