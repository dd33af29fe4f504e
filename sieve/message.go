package sieve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"

	message "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // RFC 5228 §2.7.2: ISO-8859-* and more, for headers and body parts
	"github.com/emersion/go-message/textproto"
	"github.com/foxcpp/go-sieve/interp"

	"letterbox/header"
)

// Message is the message a run looks at. It keeps the header section (at
// most MaxHeader bytes of it) and reads the body again from the spool for
// each body test, streaming: a body is never held in memory whole.
type Message struct {
	open   func() io.Reader
	size   int64
	fields []field
	// body is the offset of the body: after the empty line, or at the first
	// line that is neither a field nor a continuation; -1 when the message
	// has no body.
	body int64
}

type field struct {
	name  string // as written
	value string // unfolded, trimmed, RFC 2047 decoded
}

var (
	_ interp.Message     = (*Message)(nil)
	_ interp.BodyMessage = (*Message)(nil)
)

// NewMessage reads the header section of the message open returns (each
// call a new reader from the start of the message; one that is an
// io.Closer is closed after use) and keeps at most maxHeader bytes of it
// (0 means DefaultMaxHeader). size is the message's size for the size
// test. The header section ends where deliver ends it (header.Classify).
func NewMessage(open func() io.Reader, size int64, maxHeader int) (*Message, error) {
	if maxHeader <= 0 {
		maxHeader = DefaultMaxHeader
	}
	m := &Message{open: open, size: size, body: -1}
	r := open()
	defer closeReader(r)
	br := bufio.NewReaderSize(r, header.ChunkSize)
	var (
		off     int64
		kept    int
		cur     *field
		val     = header.Value{Max: maxHeader, DropCR: true}
		inField bool
	)
	finish := func() {
		if cur != nil {
			cur.value = decodeValue(cur.name, strings.Trim(val.String(), " \t"))
			m.fields = append(m.fields, *cur)
			kept += len(cur.name) + len(cur.value)
			cur = nil
		}
	}
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) == 0 {
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read message header: %w", err)
			}
		}
		kind, name, value := header.Classify(chunk, inField, header.BareColonField)
		lineStart := off
		off += int64(len(chunk))
		switch kind {
		case header.Empty:
			finish()
			m.body = off
		case header.NotHeader:
			finish()
			m.body = lineStart
		case header.Field:
			finish()
			inField = true
			if kept < maxHeader {
				cur = &field{name: string(name)}
				val.Reset()
				val.Add(value)
			}
		case header.Continuation:
			if cur != nil {
				val.Add(chunk)
			}
		}
		// The rest of a line longer than the buffer.
		for err == bufio.ErrBufferFull {
			chunk, err = br.ReadSlice('\n')
			off += int64(len(chunk))
			if cur != nil {
				val.Add(chunk)
			}
		}
		if m.body >= 0 {
			break
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read message header: %w", err)
		}
	}
	finish()
	return m, nil
}

func closeReader(r io.Reader) {
	if c, ok := r.(io.Closer); ok {
		c.Close()
	}
}

// HeaderGet returns the values of the fields named key, in order,
// unfolded, without leading and trailing white space, with RFC 2047
// encoded words decoded to UTF-8 (RFC 5228 §2.7.2).
func (m *Message) HeaderGet(key string) ([]string, error) {
	var vs []string
	for _, f := range m.fields {
		if strings.EqualFold(f.name, key) {
			vs = append(vs, f.value)
		}
	}
	return vs, nil
}

// MessageSize returns the size given to NewMessage.
func (m *Message) MessageSize() int { return int(m.size) }

// encodedWords matches a run of RFC 2047 encoded words separated by white
// space only, which decodes as one piece (RFC 2047 §6.2: the white space
// between adjacent encoded words is not displayed).
var encodedWords = lazyRE(`=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=(?:[ \t]+=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)*`)

var wordDecoder = mime.WordDecoder{CharsetReader: charsetReader}

// charsetReader converts charset to UTF-8 with go-message's table (package
// go-message/charset fills it).
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "us-ascii":
		return input, nil
	}
	if message.CharsetReader == nil {
		return nil, fmt.Errorf("unknown charset %q", charset)
	}
	return message.CharsetReader(strings.ToLower(charset), input)
}

// addressFields are the fields the address test parses as address lists
// (RFC 5228 §5.1).
var addressFields = map[string]bool{
	"from": true, "sender": true, "reply-to": true, "to": true, "cc": true,
	"bcc": true, "resent-from": true, "resent-sender": true,
	"resent-to": true, "resent-cc": true, "resent-bcc": true,
	"return-path": true, "delivered-to": true, "envelope-to": true,
	"errors-to": true, "x-original-to": true, "x-original-from": true,
	"original-recipient": true, "disposition-notification-to": true,
	"mail-followup-to": true, "mail-reply-to": true,
}

// decodeValue decodes the encoded words of a field value. A run that does
// not decode (an unknown charset, bad base64) stays as written, as RFC
// 5228 §2.7.2 allows. In an address field a decoded phrase with specials
// ("Doe, John") is quoted, so that the address test, which parses the
// same value, still finds the address after it; the header test then sees
// the quotes.
func decodeValue(name, v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	addr := addressFields[strings.ToLower(name)]
	return encodedWords().ReplaceAllStringFunc(v, func(run string) string {
		dec, err := wordDecoder.DecodeHeader(run)
		if err != nil {
			return run
		}
		if addr && strings.ContainsAny(dec, `()<>[]:;@\,."`) {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(dec) + `"`
		}
		return dec
	})
}

// BodyRaw returns the body as it is in the spool, from after the header
// section to the end, streaming; nil when the message has no body.
func (m *Message) BodyRaw(ctx context.Context) (io.Reader, error) {
	if m.body < 0 {
		return nil, nil
	}
	r := m.open()
	if err := skip(r, m.body); err != nil {
		closeReader(r)
		return nil, fmt.Errorf("read message body: %w", err)
	}
	return &ctxReader{ctx: ctx, r: r}, nil
}

// skip moves r forward n bytes.
func skip(r io.Reader, n int64) error {
	if s, ok := r.(io.Seeker); ok {
		_, err := s.Seek(n, io.SeekCurrent)
		return err
	}
	_, err := io.CopyN(io.Discard, r, n)
	return err
}

// ctxReader stops reading when ctx is done, so a body test on a large
// message ends with the delivery's deadline.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (c *ctxReader) Close() error {
	closeReader(c.r)
	return nil
}

// BodyParts returns the MIME parts whose content type matches one of
// contentTypes (interp.ContentTypeMatches, RFC 5173 §5.2). The walk that
// finds them streams; each part's Open reads the message again up to it
// and decodes its content transfer encoding and charset as it is read.
// A multipart part opens to its prologue and epilogue, a message/rfc822
// part to its header section.
func (m *Message) BodyParts(ctx context.Context, contentTypes []string) ([]interp.BodyPart, error) {
	if m.body < 0 {
		return nil, nil
	}
	var parts []interp.BodyPart
	err := m.walk(ctx, nil, func(v visited) bool {
		if !interp.ContentTypeMatches(v.ct, contentTypes) {
			return false
		}
		p := &bodyPart{m: m, path: slices.Clone(v.path), ct: v.ct}
		if isMessage(v.ct) {
			// The walk has read the nested header section (bounded by
			// go-message's limits); keep it for Open.
			var b bytes.Buffer
			textproto.WriteHeader(&b, v.nested)
			p.blob = bytes.TrimSuffix(b.Bytes(), []byte("\r\n"))
		}
		parts = append(parts, p)
		return false
	})
	return parts, err
}

// visited is one part the walk comes to.
type visited struct {
	path   []int // index at each multipart level; 0 into a message/rfc822
	ct     string
	params map[string]string
	h      textproto.Header // the part's own header
	nested textproto.Header // message/rfc822: the header of the message inside
	body   io.Reader        // raw: after h, or after nested for a message
}

// walk visits the MIME parts of the message depth first (only those on
// the way to target, if not nil) until visit returns true.
func (m *Message) walk(ctx context.Context, target []int, visit func(visited) bool) error {
	r := m.open()
	defer closeReader(r)
	return m.walkFrom(ctx, r, target, visit)
}

// walkFrom is walk on r, a new reader of the message, which the caller
// closes: a part visit keeps can still be read.
func (m *Message) walkFrom(ctx context.Context, r io.Reader, target []int, visit func(visited) bool) error {
	if err := skip(r, m.body); err != nil {
		return fmt.Errorf("read message body: %w", err)
	}
	// The top-level header is the one already parsed; only the two
	// fields the walk needs are handed on, so that a header section of
	// any size is not read twice.
	var h textproto.Header
	for _, f := range m.fields {
		if strings.EqualFold(f.name, "Content-Type") || strings.EqualFold(f.name, "Content-Transfer-Encoding") {
			h.Add(f.name, f.value)
		}
	}
	_, err := walkPart(ctx, nil, target, h, "", &ctxReader{ctx: ctx, r: r}, visit)
	return err
}

// walkPart walks the part with header h and raw body. A structure that
// cannot be read ends the walk of that part quietly: the parts found so
// far stand, as Pigeonhole skips what it cannot parse.
func walkPart(ctx context.Context, path, target []int, h textproto.Header, parentCT string, body io.Reader, visit func(visited) bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return true, err
	}
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || ct == "" {
		// RFC 2045 §5.2 and RFC 2046 §5.1.5: the defaults.
		ct, params = "text/plain", nil
		if parentCT == "multipart/digest" {
			ct = "message/rfc822"
		}
	}
	ct = strings.ToLower(ct)
	v := visited{path: path, ct: ct, params: params, h: h, body: body}
	if isMessage(ct) {
		br := bufio.NewReader(body)
		v.nested, err = textproto.ReadHeader(br)
		if err != nil {
			return false, nil
		}
		v.body = br
	}
	if target == nil || len(target) == len(path) {
		if visit(v) {
			return true, nil
		}
		if target != nil {
			return false, nil
		}
	}
	switch {
	case strings.HasPrefix(ct, "multipart/"):
		boundary := params["boundary"]
		if boundary == "" {
			return false, nil
		}
		mr := textproto.NewMultipartReader(v.body, boundary)
		for i := 0; ; i++ {
			part, err := mr.NextPart()
			if err != nil {
				return false, nil // io.EOF, or the rest is unreadable
			}
			if target != nil && target[len(path)] != i {
				continue
			}
			stop, err := walkPart(ctx, append(path, i), target, part.Header, ct, part, visit)
			if stop || err != nil || target != nil {
				return stop, err
			}
		}
	case isMessage(ct):
		if target != nil && target[len(path)] != 0 {
			return false, nil
		}
		return walkPart(ctx, append(path, 0), target, v.nested, ct, v.body, visit)
	}
	return false, nil
}

func isMessage(ct string) bool { return ct == "message/rfc822" || ct == "message/global" }

// bodyPart is one part BodyParts found.
type bodyPart struct {
	m    *Message
	path []int
	ct   string
	blob []byte // message/rfc822: the nested header section
}

func (p *bodyPart) ContentType() string { return p.ct }

// Open reads the message again up to the part and returns its content,
// decoded as it is read.
func (p *bodyPart) Open(ctx context.Context) (io.ReadCloser, error) {
	if isMessage(p.ct) {
		return io.NopCloser(bytes.NewReader(p.blob)), nil
	}
	r := p.m.open()
	var found *visited
	err := p.m.walkFrom(ctx, r, p.path, func(v visited) bool {
		found = &v
		return true
	})
	if err == nil && found == nil {
		err = fmt.Errorf("read MIME part %v: not found again", p.path)
	}
	if err != nil {
		closeReader(r)
		return nil, err
	}
	var out io.Reader
	if strings.HasPrefix(p.ct, "multipart/") {
		out = prologueEpilogue(found.body, found.params["boundary"])
	} else {
		out = found.body
		// Content-Transfer-Encoding and charset (RFC 5173 §5.2: the
		// decoded content). An unknown charset leaves the bytes as
		// they are, as RFC 5228 §2.7.2 allows.
		if e, err := message.New(message.Header{Header: found.h}, found.body); e != nil {
			out = e.Body
		} else if err != nil {
			out = found.body
		}
	}
	return &readCloser{Reader: out, r: r}, nil
}

type readCloser struct {
	io.Reader
	r io.Reader
}

func (rc *readCloser) Close() error {
	closeReader(rc.r)
	return nil
}

// maxPrologue bounds each of a multipart's prologue and epilogue as Open
// returns them: they are text for old mail readers, and a body test on a
// multipart entity looks at nothing else.
const maxPrologue = 64 << 10

// prologueEpilogue reads the raw body of a multipart entity line by line
// and returns its prologue and epilogue (RFC 2046 §5.1.1), each bounded by
// maxPrologue, joined by CRLF as go-sieve's own walk does.
func prologueEpilogue(body io.Reader, boundary string) io.Reader {
	br := bufio.NewReader(body)
	delim := []byte("--" + boundary)
	var pro, epi []byte
	state := 0 // 0 prologue, 1 parts, 2 epilogue
	atLineStart := true
	for {
		line, err := br.ReadSlice('\n')
		isDelim := atLineStart && state < 2 && bytes.HasPrefix(line, delim)
		rest := []byte(nil)
		if isDelim {
			rest = bytes.TrimRight(line[len(delim):], " \t\r\n")
		}
		switch {
		case isDelim && bytes.Equal(rest, []byte("--")):
			state = 2 // the close delimiter; the epilogue follows it
		case isDelim && len(rest) == 0:
			state = 1
		case state == 0:
			pro = appendMax(pro, line)
		case state == 2:
			epi = appendMax(epi, line)
		}
		atLineStart = len(line) > 0 && line[len(line)-1] == '\n'
		if err != nil && err != bufio.ErrBufferFull {
			break
		}
	}
	pro = bytes.TrimRight(pro, "\r\n")
	epi = bytes.Trim(epi, "\r\n")
	out := append(pro, '\r', '\n')
	return bytes.NewReader(append(out, epi...))
}

func appendMax(b, p []byte) []byte {
	return append(b, p[:min(len(p), maxPrologue-len(b))]...)
}
