package autoreply

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"
)

// Header gives the values of a message's header fields.
type Header interface {
	// Get returns the values of every field named name (matched without
	// regard to case), in message order; folded values may keep their
	// line breaks.
	Get(name string) []string
}

// HeaderMap is a Header over a map keyed by canonical field names, as
// net/textproto and net/mail make them.
type HeaderMap map[string][]string

func (m HeaderMap) Get(name string) []string { return m[textproto.CanonicalMIMEHeaderKey(name)] }

// Envelope is what the MTA said about the message.
type Envelope struct {
	Sender            string // the return path; "" or "<>" is the null sender
	OriginalRecipient string // the recipient before aliasing (-a, ORCPT); may be ""
}

// Vacation is one vacation action (RFC 5230 §4), as package sieve records
// it.
type Vacation struct {
	Reason    string   // the body, or a MIME entity when Mime
	Subject   string   // "" means "Auto: " and the original subject
	From      string   // "" means the user's address the message came to
	Addresses []string // the user's other addresses (:addresses)
	Handle    string   // tracking handle (RFC 5230 §4.2)
	Seconds   int      // the response interval
	Mime      bool
}

// ShouldReply reports whether a vacation reply to the message with header
// h and envelope env, delivered to recipient, may be sent, by the rules
// of the package comment; reason says why not (and is "" when it may).
func ShouldReply(h Header, env Envelope, recipient string, v Vacation) (bool, string) {
	sender := bare(env.Sender)
	if sender == "" {
		return false, "null envelope sender"
	}
	if systemAddress(sender) {
		return false, "sender " + sender + " is a list or system address"
	}
	mine := userAddresses(env, recipient, v)
	for _, a := range mine {
		if strings.EqualFold(a, sender) {
			return false, "sender " + sender + " is the user's own address"
		}
	}
	for _, val := range h.Get("Auto-Submitted") {
		// auto-submitted = token *(CFWS ";" parameter) (RFC 3834 §5.1).
		tok, _, _ := strings.Cut(stripComments(val), ";")
		if !strings.EqualFold(strings.TrimSpace(tok), "no") {
			return false, "message is Auto-Submitted: " + oneLine(val)
		}
	}
	// Microsoft's X-Auto-Response-Suppress ([MS-OXCMAIL] §2.2.3.2.14):
	// All or OOF asks for no out-of-office reply; Pigeonhole honours it.
	for _, val := range h.Get("X-Auto-Response-Suppress") {
		for _, tok := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			if strings.EqualFold(tok, "All") || strings.EqualFold(tok, "OOF") {
				return false, "message has X-Auto-Response-Suppress: " + oneLine(val)
			}
		}
	}
	for _, f := range listFields {
		if len(h.Get(f)) > 0 {
			return false, "message has " + f + ": list mail"
		}
	}
	for _, val := range h.Get("Precedence") {
		switch strings.ToLower(strings.TrimSpace(stripComments(val))) {
		case "bulk", "list", "junk":
			return false, "message has Precedence: " + oneLine(val)
		}
	}
	if _, ok := addressedTo(h, mine); !ok {
		return false, "none of the user's addresses is in To, Cc, Bcc or Resent-*"
	}
	return true, ""
}

// listFields mark mail from a list: RFC 2919's List-Id and RFC 2369's
// fields.
var listFields = []string{"List-Id", "List-Help", "List-Subscribe", "List-Unsubscribe", "List-Post", "List-Owner", "List-Archive"}

// addressFields are where RFC 5230 §4.5 looks for the user's addresses.
var addressFields = []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"}

// userAddresses are the addresses the user receives mail at, for this
// message: the recipient, :addresses and the original recipient.
func userAddresses(env Envelope, recipient string, v Vacation) []string {
	var a []string
	for _, s := range append([]string{recipient}, v.Addresses...) {
		if s = bare(s); s != "" {
			a = append(a, s)
		}
	}
	if s := bare(env.OriginalRecipient); s != "" {
		a = append(a, s)
	}
	return a
}

// systemAddress reports whether addr belongs to a list manager or a mail
// system rather than a person (RFC 5230 §4.6).
func systemAddress(addr string) bool {
	local := strings.ToLower(addr)
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	switch {
	case local == "mailer-daemon", local == "listserv", local == "majordomo",
		strings.HasPrefix(local, "owner-"), strings.HasSuffix(local, "-request"):
		return true
	}
	return false
}

// addressedTo returns the first of mine found in the address fields of h.
func addressedTo(h Header, mine []string) (string, bool) {
	for _, f := range addressFields {
		for _, val := range h.Get(f) {
			for _, got := range addrSpecs(val) {
				for _, a := range mine {
					if strings.EqualFold(got, a) {
						return a, true
					}
				}
			}
		}
	}
	return "", false
}

// addrSpecs are the addresses in an address-list field. A field net/mail
// cannot parse (a group, a stray comma, bad encoded words) is scanned for
// anything shaped like local@domain instead: a missed address would only
// cost a reply, but a header that happens to be odd should not.
func addrSpecs(val string) []string {
	val = oneLine(val)
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: func(string, io.Reader) (io.Reader, error) {
		return nil, errors.New("charset not needed")
	}}}
	if list, err := p.ParseList(val); err == nil {
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = a.Address
		}
		return out
	}
	var out []string
	for _, w := range strings.FieldsFunc(val, func(r rune) bool {
		return strings.ContainsRune(" \t,;:<>()\"[]", r)
	}) {
		if strings.Contains(w, "@") {
			out = append(out, w)
		}
	}
	return out
}

// TrackKey is the key under which a reply to sender for the vacation
// handle is remembered (RFC 5230 §4.2: one reply per sender and handle
// per interval), for statefile: the hex SHA-256 of "vacation", the sender
// in lower case and the handle, each with its length. The caller keeps it for the
// action's Seconds; RFC 5230 §4.1 makes a day the least interval unless
// the script used vacation-seconds (RFC 6131), which package sieve has
// already applied.
func TrackKey(sender, handle string) string {
	// Each part with its length, so no two pairs give the same input.
	sender = strings.ToLower(bare(sender))
	sum := sha256.Sum256(fmt.Appendf(nil, "vacation %d:%s %d:%s", len(sender), sender, len(handle), handle))
	return hex.EncodeToString(sum[:])
}

// maxSubject bounds the subject in characters, as Pigeonhole does: a
// reply's subject echoes the sender's, which may be anything.
const maxSubject = 256

// Compose writes to w the vacation reply to the message with header orig
// and envelope env, delivered to recipient, as the package comment
// describes; now is its date and host names it in its Message-ID. It
// returns the reply's envelope: the null sender ("") and the recipient,
// the original's envelope sender.
func Compose(w io.Writer, orig Header, env Envelope, v Vacation, recipient string, now time.Time, host string) (envFrom, rcpt string, err error) {
	rcpt = bare(env.Sender)
	if rcpt == "" {
		return "", "", errors.New("compose vacation reply: null envelope sender")
	}
	if !plainAddr(rcpt) {
		return "", "", fmt.Errorf("compose vacation reply: bad envelope sender %q", rcpt)
	}
	from, err := replyFrom(orig, env, v, recipient)
	if err != nil {
		return "", "", fmt.Errorf("compose vacation reply: %w", err)
	}
	id, err := messageID(now, host)
	if err != nil {
		return "", "", fmt.Errorf("compose vacation reply: %w", err)
	}

	b := bufio.NewWriter(w)
	field := func(name, value string) { fmt.Fprintf(b, "%s: %s\n", name, value) }
	field("From", from)
	field("To", "<"+rcpt+">")
	field("Subject", encodeText(subject(orig, v)))
	field("Date", now.Format(time.RFC1123Z))
	field("Message-ID", id)
	if irt, refs := threading(orig); irt != "" {
		field("In-Reply-To", irt)
		field("References", strings.Join(refs, "\n "))
	}
	field("Auto-Submitted", "auto-replied")
	field("Precedence", "bulk")
	field("MIME-Version", "1.0")
	if v.Mime {
		writeBody(b, v.Reason)
	} else {
		body := strings.ToValidUTF8(v.Reason, "\uFFFD")
		if needsQP(body) {
			field("Content-Type", "text/plain; charset=utf-8")
			field("Content-Transfer-Encoding", "quoted-printable")
			b.WriteString("\n")
			// The encoder ends lines with CRLF; the reply, like every
			// message letterbox writes, uses LF (sendmail's convention).
			var enc strings.Builder
			qp := quotedprintable.NewWriter(&enc)
			qp.Write([]byte(lf(body)))
			qp.Close()
			writeBody(b, enc.String())
		} else {
			field("Content-Type", "text/plain; charset=utf-8")
			field("Content-Transfer-Encoding", "7bit")
			b.WriteString("\n")
			writeBody(b, body)
		}
	}
	if err := b.Flush(); err != nil {
		return "", "", fmt.Errorf("write vacation reply: %w", err)
	}
	return "", rcpt, nil
}

// replyFrom is the reply's From: :from, else the user's address the
// message was addressed to, else the recipient.
func replyFrom(orig Header, env Envelope, v Vacation, recipient string) (string, error) {
	if v.From != "" {
		a, err := mail.ParseAddress(oneLine(v.From))
		if err != nil {
			return "", fmt.Errorf("vacation :from %q: %w", v.From, err)
		}
		return a.String(), nil
	}
	addr := bare(recipient)
	if got, ok := addressedTo(orig, userAddresses(env, recipient, v)); ok {
		addr = got
	}
	if !plainAddr(addr) {
		return "", fmt.Errorf("bad recipient %q", addr)
	}
	return "<" + addr + ">", nil
}

// subject is the reply's subject, unencoded.
func subject(orig Header, v Vacation) string {
	s := oneLine(v.Subject)
	if strings.TrimSpace(s) == "" {
		if vals := orig.Get("Subject"); len(vals) > 0 {
			o := oneLine(vals[0])
			if dec, err := new(mime.WordDecoder).DecodeHeader(o); err == nil {
				o = dec
			}
			s = "Auto: " + strings.TrimSpace(o)
		} else {
			s = "Automated reply"
		}
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) > maxSubject {
		s = string([]rune(s)[:maxSubject])
	}
	return s
}

// encodeText encodes s for an unstructured header field: as it is when
// ASCII, else as RFC 2047 encoded words, one per folded line, so the line
// stays within RFC 5322's 998 bytes.
func encodeText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	return strings.ReplaceAll(mime.QEncoding.Encode("utf-8", s), "?= =?", "?=\n =?")
}

// threading returns In-Reply-To and References for a reply to orig
// (RFC 5322 §3.6.4): the parent's Message-ID, and the parent's References
// (or, lacking them, its single In-Reply-To) followed by it.
func threading(orig Header) (inReplyTo string, refs []string) {
	ids := func(name string) []string {
		var out []string
		for _, v := range orig.Get(name) {
			out = append(out, msgIDs(v)...)
		}
		return out
	}
	own := ids("Message-ID")
	if len(own) == 0 {
		return "", nil
	}
	parent := ids("References")
	if len(parent) == 0 {
		if irt := ids("In-Reply-To"); len(irt) == 1 {
			parent = irt
		}
	}
	return own[0], append(parent, own[0])
}

// msgIDs are the "<...>" tokens of a field, without anything that could
// break the header.
func msgIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return out
		}
		id := v[i : i+j+1]
		if plainAddr(id[1 : len(id)-1]) {
			out = append(out, id)
		}
		v = v[i+j+1:]
	}
}

// messageID is a new Message-ID at host.
func messageID(now time.Time, host string) (string, error) {
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	h := strings.Map(func(c rune) rune {
		if c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return c
		}
		return -1
	}, host)
	if h == "" {
		h = "localhost"
	}
	return fmt.Sprintf("<%d.%s@%s>", now.Unix(), hex.EncodeToString(r[:]), h), nil
}

// needsQP reports whether body cannot go as 7bit: 8-bit bytes, a line
// longer than RFC 5322's 998, or a bare CR.
func needsQP(body string) bool {
	for _, line := range strings.Split(lf(body), "\n") {
		if len(line) > 998 {
			return true
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; c >= 0x80 || c == '\r' || c == 0 {
				return true
			}
		}
	}
	return false
}

// writeBody writes s with LF line ends and a final newline.
func writeBody(b *bufio.Writer, s string) {
	s = lf(s)
	b.WriteString(s)
	if !strings.HasSuffix(s, "\n") {
		b.WriteString("\n")
	}
}

func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// oneLine unfolds a header value and turns any other control byte into a
// space, so a value copied into a field cannot start a field of its own.
func oneLine(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", ""), "\n", "")
	return strings.Map(func(r rune) rune {
		if r < ' ' && r != '\t' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// stripComments removes RFC 5322 comments ("(...)", nested) from v.
func stripComments(v string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// bare is an address without surrounding space and angle brackets; "<>"
// and "" are "".
func bare(a string) string {
	a = strings.TrimSpace(a)
	if strings.HasPrefix(a, "<") && strings.HasSuffix(a, ">") {
		a = strings.TrimSpace(a[1 : len(a)-1])
	}
	return a
}

// plainAddr reports whether a may be written between angle brackets in a
// header: no white space, control bytes or brackets.
func plainAddr(a string) bool {
	if a == "" {
		return false
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c <= ' ' || c == 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return true
}
