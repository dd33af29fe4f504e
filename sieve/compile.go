package sieve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/foxcpp/go-sieve/interp"
	"github.com/foxcpp/go-sieve/lexer"
	"github.com/foxcpp/go-sieve/parser"
	"golang.org/x/sys/unix"

	"letterbox/sieveext"
)

// lazyRE compiles expr on first use: letterbox deliver starts once per
// message, and most runs never format a compile error.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// Options are the administrator's settings for compiling and running
// scripts. The zero Options are Pigeonhole's defaults.
type Options struct {
	// GlobalDir holds the scripts "include :global" names (RFC 6609
	// §3.2), PersonalDir those of "include :personal" (the default).
	// They are read by DirLoader only.
	GlobalDir   string
	PersonalDir string
	// MaxRedirects is the most redirect actions one delivery may ask for,
	// over all its scripts; one more is a run-time error. 0 means 4,
	// Pigeonhole's sieve_max_redirects.
	MaxRedirects int
	// Environment are the RFC 5183 items the environment test sees:
	// "domain", "host", "version" from the caller; "location" ("MDA"),
	// "name" ("letterbox") and "phase" ("during") default as shown.
	Environment map[string]string
	// Extensions are extensions the administrator enabled beyond the
	// default set, as Pigeonhole's sieve_extensions "+name". Each must be
	// one this package supports; CheckExtensions says which are not.
	Extensions []string
	// MaxHeader is the most bytes of the header section a Message keeps in
	// memory for header tests; fields beyond it are not seen. 0 means
	// 1 MiB.
	MaxHeader int
}

// DefaultMaxRedirects is Pigeonhole's sieve_max_redirects.
const DefaultMaxRedirects = 4

// DefaultMaxHeader is the default Options.MaxHeader.
const DefaultMaxHeader = 1 << 20

// MaxScriptSize is the largest script Compile accepts, Pigeonhole's
// sieve_max_script_size default: a script is written by a person, and the
// bound keeps a hostile one from costing the delivery its memory.
const MaxScriptSize = 1 << 20

func (o Options) maxRedirects() int {
	if o.MaxRedirects <= 0 {
		return DefaultMaxRedirects
	}
	return o.MaxRedirects
}

// Script is a compiled script, ready for Run.
type Script struct {
	Name string // as given to Compile: a path or a name, used in errors
	s    *interp.Script
}

// Interp returns the go-sieve script, which a sieveext.Loader returns for
// include.
func (s *Script) Interp() *interp.Script { return s.s }

// CompileError is a script that does not compile, with the position of
// the first error. Line and Col are 0 when the position is unknown.
type CompileError struct {
	File      string
	Line, Col int
	Msg       string
}

// Error is "FILE:LINE:COL: message", the form compilers and editors use.
func (e *CompileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// CheckExtensions returns an error naming the first of o.Extensions that
// this package cannot run, so that a configuration asking for one
// (editheader, say) is refused when it is read, not at the first message.
func (o Options) CheckExtensions() error {
	for _, ext := range o.Extensions {
		if !Supported(ext) {
			return fmt.Errorf("sieve extension %q is enabled in the configuration but not supported", ext)
		}
	}
	return nil
}

// Supported reports whether a script may require ext: go-sieve's own
// extensions and those package sieveext registers.
func Supported(ext string) bool {
	if strings.ContainsAny(ext, "\"\\\r\n") {
		return false
	}
	// go-sieve keeps its table unexported; asking it is the one way that
	// stays true as sieveext registers more.
	toks, err := lexer.Lex(strings.NewReader(`require "`+ext+`";`), &lexer.Options{})
	if err != nil {
		return false
	}
	cmds, err := parser.Parse(lexer.NewStream(toks), &parser.Options{MaxBlockNesting: 1, MaxTestNesting: 1})
	if err != nil {
		return false
	}
	_, err = interp.LoadScript(cmds, interpOptions(Options{}))
	return err == nil
}

// Extensions returns the extensions a script may require, sorted: the
// capability list (RFC 5804 SIEVE) of this implementation.
func Extensions() []string {
	cand := []string{
		"body", "comparator-i;ascii-casemap", "comparator-i;ascii-numeric",
		"comparator-i;octet", "comparator-i;unicode-casemap", "copy",
		"encoded-character", "envelope", "environment", "ereject",
		"fileinto", "imap4flags", "relational", "reject", "subaddress",
		"variables",
	}
	cand = append(cand, sieveext.Extensions...)
	var out []string
	for _, ext := range cand {
		if Supported(ext) && !slices.Contains(out, ext) {
			out = append(out, ext)
		}
	}
	slices.Sort(out)
	return out
}

func interpOptions(o Options) *interp.Options {
	return &interp.Options{
		MaxRedirects:       o.maxRedirects(),
		MaxVariableCount:   128,  // RFC 5229 §6 asks for at least 128
		MaxVariableNameLen: 32,   // Pigeonhole's limit
		MaxVariableLen:     4000, // Pigeonhole's sieve_variables_max_variable_size
	}
}

// Compile compiles the script read from r; name says where it came from,
// in errors. A script that does not compile is a *CompileError.
func Compile(name string, r io.Reader, o Options) (*Script, error) {
	if err := o.CheckExtensions(); err != nil {
		return nil, err
	}
	src, err := io.ReadAll(io.LimitReader(r, MaxScriptSize+1))
	if err != nil {
		return nil, fmt.Errorf("read script %s: %w", name, err)
	}
	if len(src) > MaxScriptSize {
		return nil, &CompileError{File: name, Msg: fmt.Sprintf("script larger than %d bytes", MaxScriptSize)}
	}
	s, err := compile(src, o)
	if err != nil {
		return nil, compileError(name, src, o, err)
	}
	return &Script{Name: name, s: s}, nil
}

// Limits of the parse tree, Pigeonhole's SIEVE_MAX_BLOCK_NESTING and
// SIEVE_MAX_TEST_NESTING: deeper nesting is a script meant to exhaust the
// stack, not to sort mail.
const (
	maxBlockNesting = 32
	maxTestNesting  = 32
	// maxTokens bounds the token list of a MaxScriptSize script.
	maxTokens = MaxScriptSize / 4
)

func compile(src []byte, o Options) (*interp.Script, error) {
	toks, err := lexer.Lex(bytes.NewReader(src), &lexer.Options{MaxTokens: maxTokens})
	if err != nil {
		return nil, lexError{err}
	}
	cmds, err := parser.Parse(lexer.NewStream(toks), &parser.Options{
		MaxBlockNesting: maxBlockNesting,
		MaxTestNesting:  maxTestNesting,
	})
	if err != nil {
		return nil, parseError{err}
	}
	s, err := interp.LoadScript(cmds, interpOptions(o))
	if err != nil {
		return nil, loadError{err, cmds}
	}
	return s, nil
}

type lexError struct{ error }

type parseError struct{ error }

type loadError struct {
	error
	cmds []parser.Cmd
}

// posRE finds the "LINE:COL: " go-sieve puts before a message whose
// position it knows, after the "LoadCmd NAME: " prefixes of the commands
// around it.
var posRE = lazyRE(`(?:^|: )(\d+):(\d+): (.*)$`)

// internalPrefixes are the names of go-sieve's functions it puts before
// its messages; they mean nothing to the script's author.
var internalPrefixes = lazyRE(`^(?:(?:LoadCmd [^ :]+|LoadSpec|LoadBlock|LoadTest|loadRequire|go-sieve/lexer|lexer|parser): )+`)

// compileError turns a go-sieve error into a *CompileError with the best
// position it can find.
func compileError(name string, src []byte, o Options, err error) *CompileError {
	msg := err.Error()
	ce := &CompileError{File: name}
	if m := posRE().FindStringSubmatch(msg); m != nil {
		ce.Line, _ = strconv.Atoi(m[1])
		ce.Col, _ = strconv.Atoi(m[2])
		ce.Msg = internalPrefixes().ReplaceAllString(m[3], "")
		return ce
	}
	ce.Msg = internalPrefixes().ReplaceAllString(msg, "")
	var le lexError
	var pe parseError
	var lo loadError
	switch {
	case errors.As(err, &pe):
		// The parser's errors without a position are the script ending
		// too early (a missing brace or semicolon): point at its end.
		ce.Line, ce.Col = endPosition(src, len(src))
	case errors.As(err, &le):
		// The lexer's own errors carry no position: lex again one byte
		// at a time, and the error is at the last byte it read.
		if errors.Is(le.error, io.ErrUnexpectedEOF) {
			ce.Msg = "unexpected end of script"
		}
		if m := unexpectedChar().FindStringSubmatch(ce.Msg); m != nil {
			if c, err := strconv.Atoi(m[1]); err == nil && c < 256 {
				ce.Msg = fmt.Sprintf("unexpected character %q", rune(c))
			}
		}
		r := &byteReader{src: src}
		lexer.Lex(r, &lexer.Options{MaxTokens: maxTokens})
		ce.Line, ce.Col = endPosition(src, r.n)
	case errors.As(err, &lo) && len(lo.cmds) > 0:
		// Errors such as an unsupported extension in require carry no
		// position: the first top-level command whose loading fails is
		// the one. Loading is deterministic and stops at the first
		// error, so a prefix of the script fails exactly when it holds
		// that command, and the shortest failing prefix ends with it.
		i, j := 1, len(lo.cmds)
		for i < j {
			mid := (i + j) / 2
			if _, err := interp.LoadScript(lo.cmds[:mid], interpOptions(o)); err != nil {
				j = mid
			} else {
				i = mid + 1
			}
		}
		ce.Line, ce.Col = lo.cmds[i-1].Position.LineCol()
	}
	return ce
}

// unexpectedChar is the lexer's message for a byte it does not expect,
// which it gives as a decimal number.
var unexpectedChar = lazyRE(`^unexpected character: (\d+)$`)

// endPosition returns the line and column of the last of the first n
// bytes of src: where the lexer stopped when it had read n bytes, or the
// end of the script. A line end counts as the end of its line.
func endPosition(src []byte, n int) (line, col int) {
	src = bytes.TrimRight(src[:n], "\r\n")
	line = 1 + bytes.Count(src, []byte("\n"))
	col = len(src) - (bytes.LastIndexByte(src, '\n') + 1)
	return line, max(col, 1)
}

// byteReader hands out one byte per Read, so that what the lexer's
// bufio.Reader has read is what the lexer has consumed.
type byteReader struct {
	src []byte
	n   int
}

func (r *byteReader) Read(p []byte) (int, error) {
	if r.n >= len(r.src) {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.src[r.n]
	r.n++
	return 1, nil
}

// ErrUnsafe marks a script file that LoadFile will not run: not a regular
// file, owned by someone else, writable by others, or too large.
var ErrUnsafe = errors.New("unsafe script file")

// LoadFile compiles the script in the file at path, if it is safe to run
// for the running user (docs/design.md §10.1): what CompileFile checks,
// and owned by the running user or root, and writable by neither group nor
// others — anyone else who could write it could file the user's mail
// anywhere or redirect it away. The path may be a symbolic link:
// ~/.dovecot.sieve is one, to the active script, under ManageSieve; the
// checks are on the file opened. A missing file is an error wrapping
// fs.ErrNotExist; an unsafe one wraps ErrUnsafe.
func LoadFile(path string, o Options) (*Script, error) {
	return compileFile(path, o, true)
}

// CompileFile compiles the script in the file at path without asking who
// may write it, for the tools that only read a script ("letterbox sieve
// check", "sieve test"): the file must be regular (a FIFO would block, a
// device would be read forever) and at most MaxScriptSize bytes, or the
// error wraps ErrUnsafe.
func CompileFile(path string, o Options) (*Script, error) {
	return compileFile(path, o, false)
}

func compileFile(path string, o Options, owned bool) (*Script, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open script: %w", err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("stat script %s: %w", path, err)
	}
	switch uid := uint32(os.Geteuid()); {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrUnsafe, path)
	case st.Size > MaxScriptSize:
		return nil, fmt.Errorf("%w: %s has %d bytes, more than %d", ErrUnsafe, path, st.Size, MaxScriptSize)
	case !owned:
	case st.Uid != uid && st.Uid != 0:
		return nil, fmt.Errorf("%w: %s is owned by uid %d, not by uid %d or root", ErrUnsafe, path, st.Uid, uid)
	case st.Mode&0o022 != 0:
		return nil, fmt.Errorf("%w: %s is writable by group or others (mode %o)", ErrUnsafe, path, st.Mode&0o777)
	}
	return Compile(path, io.LimitReader(f, MaxScriptSize), o)
}
