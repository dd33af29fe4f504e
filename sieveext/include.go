package sieveext

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/foxcpp/go-sieve/interp"
	"github.com/foxcpp/go-sieve/lexer"
	"github.com/foxcpp/go-sieve/parser"
)

// include, return and global (RFC 6609).
//
// An included script runs against the same RuntimeData as the including
// one, so its actions accumulate in d.AppliedActions. For its duration
// d.Script is the included script (its own requires apply) and d.Variables a
// fresh map: variables are local to each script (RFC 6609 §3.4) except the
// names a script declares with "global", which are copied from the shared
// store when declared and when control returns to the script, and copied back
// when control leaves it. The "global." variable namespace of §3.5 is not
// supported: interp's Var and SetVar refuse namespaces they do not know.
//
// Included scripts are loaded when the include executes, through Run.Load:
// the library has no hook at compile time that could reach the Run. Errors
// in included scripts therefore appear at run time.
//
// interp.Script.Execute treats ErrStop as the end of that script, so "stop"
// is wrapped to also mark the Run; include then ends the including script
// too, up to the top (RFC 6609 §3.3). "return" is ErrStop alone.

// maxIncludeDepth is Pigeonhole's default nesting limit
// (sieve_include_max_nesting_depth); RFC 6609 §3.2 asks for some limit.
const maxIncludeDepth = 10

type includeKey struct {
	name   string
	global bool
}

type includeFrame struct {
	key     includeKey
	globals map[string]bool // names this script declared global
}

type includeState struct {
	frames   []*includeFrame // frames[0] is the top-level script
	globals  map[string]string
	included map[includeKey]bool // for :once
	stopped  bool
}

func (st *includeState) current() *includeFrame {
	if len(st.frames) == 0 {
		st.frames = []*includeFrame{{globals: map[string]bool{}}}
	}
	return st.frames[len(st.frames)-1]
}

// syncOut saves f's global variables into the shared store.
func (st *includeState) syncOut(f *includeFrame, d *interp.RuntimeData) {
	if st.globals == nil {
		st.globals = map[string]string{}
	}
	for n := range f.globals {
		if v, ok := d.Variables[n]; ok {
			st.globals[n] = v
		}
	}
}

// syncIn loads f's global variables from the shared store.
func (st *includeState) syncIn(f *includeFrame, d *interp.RuntimeData) {
	for n := range f.globals {
		if v, ok := st.globals[n]; ok {
			d.Variables[n] = v
		}
	}
}

// CmdInclude is the include command (RFC 6609 §3.2).
type CmdInclude struct {
	Name     string
	Global   bool
	Once     bool
	Optional bool
}

func loadInclude(s *interp.Script, pcmd parser.Cmd) (interp.Cmd, error) {
	if !s.RequiresExtension("include") {
		return nil, parser.ErrorAt(pcmd.Position, "missing require 'include'")
	}
	cmd := CmdInclude{}
	locations := 0
	err := interp.LoadSpec(s, &interp.Spec{
		Tags: map[string]interp.SpecTag{
			"personal": {MatchBool: func() { locations++ }},
			"global":   {MatchBool: func() { cmd.Global = true; locations++ }},
			"once":     {MatchBool: func() { cmd.Once = true }},
			"optional": {MatchBool: func() { cmd.Optional = true }},
		},
		Pos: []interp.SpecPosArg{{MinStrCount: 1, MaxStrCount: 1, MatchStr: func(v []string) { cmd.Name = v[0] }}},
	}, pcmd.Position, pcmd.Args, pcmd.Tests, pcmd.Block)
	if err != nil {
		return nil, err
	}
	if locations > 1 {
		return nil, parser.ErrorAt(pcmd.Position, "include: :personal and :global are mutually exclusive")
	}
	// RFC 6609 §3.2: the script name is a constant.
	if hasVars(s, cmd.Name) {
		return nil, parser.ErrorAt(pcmd.Position, "include: script name must not contain variables")
	}
	if err := checkScriptName(cmd.Name); err != nil {
		return nil, parser.ErrorAt(pcmd.Position, "include: %v", err)
	}
	return cmd, nil
}

// checkScriptName refuses names that could leave the script directory or
// that no store can hold (RFC 6609 §3.2 leaves naming to the implementation;
// these are Pigeonhole's rules).
func checkScriptName(name string) error {
	if name == "" {
		return fmt.Errorf("empty script name")
	}
	if strings.ContainsRune(name, '/') {
		return fmt.Errorf("script name %q contains '/'", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 {
			return fmt.Errorf("script name %q contains a control character", name)
		}
	}
	return nil
}

func (c CmdInclude) Execute(ctx context.Context, d *interp.RuntimeData) error {
	r := RunFrom(ctx)
	if r == nil {
		return errNoRun
	}
	if r.Load == nil {
		return fmt.Errorf("include %q: no script loader configured", c.Name)
	}
	st := &r.inc
	key := includeKey{c.Name, c.Global}
	if c.Once && st.included[key] {
		return nil
	}
	parent := st.current()
	for _, f := range st.frames {
		if f.key == key {
			return fmt.Errorf("include %q: circular include", c.Name)
		}
	}
	if len(st.frames) > maxIncludeDepth {
		return fmt.Errorf("include %q: nesting deeper than %d", c.Name, maxIncludeDepth)
	}
	script, err := r.Load(ctx, c.Name, c.Global)
	if err != nil {
		if c.Optional && errors.Is(err, fs.ErrNotExist) {
			return nil // RFC 6609 §3.2 :optional
		}
		return fmt.Errorf("include %q: %w", c.Name, err)
	}
	if st.included == nil {
		st.included = map[includeKey]bool{}
	}
	st.included[key] = true

	st.syncOut(parent, d)
	savedScript, savedVars, savedKeep := d.Script, d.Variables, d.ImplicitKeep
	first := len(d.AppliedActions)
	child := &includeFrame{key: key, globals: map[string]bool{}}
	st.frames = append(st.frames, child)
	d.Script, d.Variables = script, map[string]string{}
	// Execute adds the implicit keep at the end of a script whose
	// d.ImplicitKeep is still true; only the top-level script may.
	d.ImplicitKeep = false
	st.stopped = false

	err = script.Execute(ctx, d)

	st.syncOut(child, d)
	st.frames = st.frames[:len(st.frames)-1]
	d.Script, d.Variables = savedScript, savedVars
	st.syncIn(parent, d)
	d.ImplicitKeep = savedKeep && !cancelsKeep(d.AppliedActions[first:])
	if err != nil {
		return err
	}
	if st.stopped {
		return interp.ErrStop
	}
	return nil
}

// cancelsKeep reports whether any of the actions cancels the implicit keep
// (RFC 5228 §2.10.2); interp's own method for this is unexported.
func cancelsKeep(actions []interp.AppliedAction) bool {
	for _, a := range actions {
		switch a := a.(type) {
		case interp.ActionFileInto:
			if !a.Copy {
				return true
			}
		case interp.ActionRedirect:
			if !a.Copy {
				return true
			}
		case interp.ActionKeep, interp.ActionDiscard, interp.ActionReject, interp.ActionEReject:
			return true
		}
	}
	return false
}

// CmdReturn ends the current script (RFC 6609 §3.3); in the top-level
// script it is stop.
type CmdReturn struct{}

func loadReturn(s *interp.Script, pcmd parser.Cmd) (interp.Cmd, error) {
	if !s.RequiresExtension("include") {
		return nil, parser.ErrorAt(pcmd.Position, "missing require 'include'")
	}
	if err := interp.LoadSpec(s, &interp.Spec{}, pcmd.Position, pcmd.Args, pcmd.Tests, pcmd.Block); err != nil {
		return nil, err
	}
	return CmdReturn{}, nil
}

func (CmdReturn) Execute(context.Context, *interp.RuntimeData) error { return interp.ErrStop }

// CmdStop is the library's stop, marking the Run so that include can end
// every including script too.
type CmdStop struct{}

func wrapStop(orig cmdFactory) cmdFactory {
	return func(s *interp.Script, pcmd parser.Cmd) (interp.Cmd, error) {
		if _, err := orig(s, pcmd); err != nil {
			return nil, err
		}
		return CmdStop{}, nil
	}
}

func (CmdStop) Execute(ctx context.Context, _ *interp.RuntimeData) error {
	if r := RunFrom(ctx); r != nil {
		r.inc.stopped = true
	}
	return interp.ErrStop
}

// CmdGlobal declares variables global (RFC 6609 §3.4).
type CmdGlobal struct {
	Names []string
}

func loadGlobal(s *interp.Script, pcmd parser.Cmd) (interp.Cmd, error) {
	if !s.RequiresExtension("include") {
		return nil, parser.ErrorAt(pcmd.Position, "missing require 'include'")
	}
	if !s.RequiresExtension("variables") {
		return nil, parser.ErrorAt(pcmd.Position, "missing require 'variables'")
	}
	cmd := CmdGlobal{}
	err := interp.LoadSpec(s, &interp.Spec{
		Pos: []interp.SpecPosArg{{MinStrCount: 1, NoVariables: true, MatchStr: func(v []string) { cmd.Names = v }}},
	}, pcmd.Position, pcmd.Args, pcmd.Tests, pcmd.Block)
	if err != nil {
		return nil, err
	}
	for i, n := range cmd.Names {
		if !lexer.IsValidIdentifier(n) {
			return nil, parser.ErrorAt(pcmd.Position, "global: invalid variable name %q", n)
		}
		cmd.Names[i] = strings.ToLower(n)
	}
	return cmd, nil
}

func (c CmdGlobal) Execute(ctx context.Context, d *interp.RuntimeData) error {
	r := RunFrom(ctx)
	if r == nil {
		return errNoRun
	}
	st := &r.inc
	f := st.current()
	for _, n := range c.Names {
		f.globals[n] = true
		if v, ok := st.globals[n]; ok {
			d.Variables[n] = v
		}
	}
	return nil
}
