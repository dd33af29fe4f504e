package autoreply

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

const user = "bob@example.net"

func TestShouldReply(t *testing.T) {
	base := []string{"From", "Alice <alice@example.org>", "To", "Bob <bob@example.net>", "Subject", "hi"}
	env := Envelope{Sender: "alice@example.org"}
	tests := []struct {
		name   string
		h      []string
		env    Envelope
		v      Vacation
		want   bool
		reason string
	}{
		{"plain", base, env, Vacation{}, true, ""},
		{"null sender", base, Envelope{Sender: ""}, Vacation{}, false, "null"},
		{"null sender <>", base, Envelope{Sender: "<>"}, Vacation{}, false, "null"},
		{"MAILER-DAEMON", base, Envelope{Sender: "MAILER-DAEMON@example.org"}, Vacation{}, false, "system"},
		{"owner-", base, Envelope{Sender: "owner-golang@example.org"}, Vacation{}, false, "system"},
		{"-request", base, Envelope{Sender: "golang-request@example.org"}, Vacation{}, false, "system"},
		{"LISTSERV", base, Envelope{Sender: "listserv@example.org"}, Vacation{}, false, "system"},
		{"majordomo", base, Envelope{Sender: "Majordomo@example.org"}, Vacation{}, false, "system"},
		{"request in the middle is a person", base, Envelope{Sender: "my-requests@example.org"}, Vacation{}, true, ""},
		{"own address", base, Envelope{Sender: "BOB@example.net"}, Vacation{}, false, "own"},
		{"own :addresses", base, Envelope{Sender: "robert@example.com"}, Vacation{Addresses: []string{"robert@example.com"}}, false, "own"},
		{"Auto-Submitted: auto-generated", append(base, "Auto-Submitted", "auto-generated"), env, Vacation{}, false, "Auto-Submitted"},
		{"Auto-Submitted: auto-replied", append(base, "Auto-Submitted", "auto-replied (vacation)"), env, Vacation{}, false, "Auto-Submitted"},
		{"Auto-Submitted: no", append(base, "Auto-Submitted", " No (comment)"), env, Vacation{}, true, ""},
		{"X-Auto-Response-Suppress: All", append(base, "X-Auto-Response-Suppress", "All"), env, Vacation{}, false, "X-Auto-Response-Suppress"},
		{"X-Auto-Response-Suppress: DR, OOF, RN", append(base, "X-Auto-Response-Suppress", "DR, OOF, RN"), env, Vacation{}, false, "X-Auto-Response-Suppress"},
		{"X-Auto-Response-Suppress: DR", append(base, "X-Auto-Response-Suppress", "DR"), env, Vacation{}, true, ""},
		{"Auto-Submitted: no; then another", append(base, "Auto-Submitted", "no", "Auto-Submitted", "auto-notified"), env, Vacation{}, false, "Auto-Submitted"},
		{"List-Id", append(base, "List-Id", "<golang.example.org>"), env, Vacation{}, false, "List-Id"},
		{"List-Post", append(base, "List-Post", "<mailto:l@example.org>"), env, Vacation{}, false, "List-Post"},
		{"List-Unsubscribe", append(base, "List-Unsubscribe", "<mailto:l@example.org>"), env, Vacation{}, false, "List-Unsubscribe"},
		{"Precedence: bulk", append(base, "Precedence", "bulk"), env, Vacation{}, false, "Precedence"},
		{"Precedence: list", append(base, "Precedence", "List"), env, Vacation{}, false, "Precedence"},
		{"Precedence: junk", append(base, "Precedence", "junk"), env, Vacation{}, false, "Precedence"},
		{"Precedence: first-class", append(base, "Precedence", "first-class"), env, Vacation{}, true, ""},
		{"not addressed", []string{"To", "list@example.org", "Cc", "carol@example.org"}, env, Vacation{}, false, "none of the user's"},
		{"addressed via :addresses", []string{"To", "Robert <robert@example.com>"}, env, Vacation{Addresses: []string{"robert@example.com"}}, true, ""},
		{"addressed via original recipient", []string{"To", "bob.alias@example.net"}, Envelope{Sender: "alice@example.org", OriginalRecipient: "bob.alias@example.net"}, Vacation{}, true, ""},
		{"addressed in Cc", []string{"To", "x@example.org", "Cc", "x@y.org, BOB@EXAMPLE.NET"}, env, Vacation{}, true, ""},
		{"addressed in Bcc", []string{"Bcc", "bob@example.net"}, env, Vacation{}, true, ""},
		{"addressed in Resent-To", []string{"To", "x@example.org", "Resent-To", "<bob@example.net>"}, env, Vacation{}, true, ""},
		{"addressed in a group", []string{"To", "friends: carol@example.org, bob@example.net;"}, env, Vacation{}, true, ""},
		{"addressed in an odd header", []string{"To", "bob@example.net,, \"unterminated"}, env, Vacation{}, true, ""},
		{"only in From", []string{"From", "bob@example.net", "To", "x@example.org"}, env, Vacation{}, false, "none of the user's"},
		{"folded To", []string{"To", "x@example.org,\r\n bob@example.net"}, env, Vacation{}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := HeaderMap{}
			for i := 0; i < len(tt.h); i += 2 {
				k := canonicalKey(tt.h[i])
				h[k] = append(h[k], tt.h[i+1])
			}
			got, reason := ShouldReply(h, tt.env, user, tt.v)
			if got != tt.want {
				t.Fatalf("ShouldReply = %v (%q), want %v", got, reason, tt.want)
			}
			if !strings.Contains(reason, tt.reason) || (tt.want && reason != "") {
				t.Errorf("reason %q, want it to mention %q", reason, tt.reason)
			}
		})
	}
}

func canonicalKey(k string) string { return textproto.CanonicalMIMEHeaderKey(k) }

func parse(t *testing.T, b []byte) *mail.Message {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("reply does not parse: %v\n%s", err, b)
	}
	return m
}

var now = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func TestCompose(t *testing.T) {
	orig := HeaderMap{
		"From":       {"Alice <alice@example.org>"},
		"To":         {"Bob <bob@example.net>"},
		"Subject":    {"=?utf-8?q?Gr=C3=BC=C3=9Fe?="},
		"Message-Id": {"<m2@example.org>"},
		"References": {"<m0@example.org>\r\n <m1@example.org>"},
	}
	env := Envelope{Sender: "alice-bounces@example.org"}
	var b bytes.Buffer
	from, rcpt, err := Compose(&b, orig, env, Vacation{Reason: "I am away.\nBack Monday."}, user, now, "mx1.example.net")
	if err != nil {
		t.Fatal(err)
	}
	if from != "" || rcpt != "alice-bounces@example.org" {
		t.Errorf("envelope %q -> %q, want null sender -> the original's return path", from, rcpt)
	}
	m := parse(t, b.Bytes())
	want := map[string]string{
		"From":                      "<bob@example.net>",
		"To":                        "<alice-bounces@example.org>",
		"Date":                      "Thu, 03 Dec 2026 10:00:00 +0000",
		"In-Reply-To":               "<m2@example.org>",
		"References":                "<m0@example.org> <m1@example.org> <m2@example.org>",
		"Auto-Submitted":            "auto-replied",
		"Precedence":                "bulk",
		"Mime-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "7bit",
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if subj != "Auto: Grüße" {
		t.Errorf("Subject decodes to %q, want %q", subj, "Auto: Grüße")
	}
	if id := m.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@mx1.example.net>") {
		t.Errorf("Message-ID %q", id)
	}
	body, _ := io.ReadAll(m.Body)
	if string(body) != "I am away.\nBack Monday.\n" {
		t.Errorf("body %q", body)
	}
}

func TestComposeFields(t *testing.T) {
	env := Envelope{Sender: "alice@example.org"}
	tests := []struct {
		name  string
		orig  HeaderMap
		v     Vacation
		field string
		want  string
	}{
		{"subject given", HeaderMap{"Subject": {"x"}}, Vacation{Subject: "Away"}, "Subject", "Away"},
		{"subject default", HeaderMap{"Subject": {"Lunch?"}}, Vacation{}, "Subject", "Auto: Lunch?"},
		{"no subject at all", HeaderMap{}, Vacation{}, "Subject", "Automated reply"},
		{"subject injection", HeaderMap{"Subject": {"x\r\nBcc: victim@example.com"}}, Vacation{}, "Bcc", ""},
		{"from given", HeaderMap{}, Vacation{From: "Bob Smith <bob@example.net>"}, "From", "\"Bob Smith\" <bob@example.net>"},
		{"from the :addresses that matched", HeaderMap{"To": {"robert@example.com"}}, Vacation{Addresses: []string{"robert@example.com"}}, "From", "<robert@example.com>"},
		{"no Message-ID: no threading", HeaderMap{}, Vacation{}, "In-Reply-To", ""},
		{"References from In-Reply-To", HeaderMap{"Message-Id": {"<b@x>"}, "In-Reply-To": {"<a@x>"}}, Vacation{}, "References", "<a@x> <b@x>"},
		{"8-bit body is quoted-printable", HeaderMap{}, Vacation{Reason: "Grüße"}, "Content-Transfer-Encoding", "quoted-printable"},
		{"long line is quoted-printable", HeaderMap{}, Vacation{Reason: strings.Repeat("x", 1000)}, "Content-Transfer-Encoding", "quoted-printable"},
		{"mime: no Content-Type of ours", HeaderMap{}, Vacation{Mime: true, Reason: "Content-Type: text/html\n\n<p>away</p>\n"}, "Content-Type", "text/html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if _, _, err := Compose(&b, tt.orig, env, tt.v, user, now, "h"); err != nil {
				t.Fatal(err)
			}
			m := parse(t, b.Bytes())
			if got := m.Header.Get(tt.field); got != tt.want {
				t.Errorf("%s: %q, want %q\n%s", tt.field, got, tt.want, b.Bytes())
			}
		})
	}
	t.Run("quoted-printable body decodes", func(t *testing.T) {
		var b bytes.Buffer
		Compose(&b, HeaderMap{}, env, Vacation{Reason: "Grüße\nbis bald"}, user, now, "h")
		m := parse(t, b.Bytes())
		body, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
		if string(body) != "Grüße\nbis bald\n" {
			t.Errorf("body %q", body)
		}
	})
	t.Run("mime entity as is", func(t *testing.T) {
		var b bytes.Buffer
		Compose(&b, HeaderMap{}, env, Vacation{Mime: true, Reason: "Content-Type: text/html\n\n<p>away</p>"}, user, now, "h")
		if !strings.HasSuffix(b.String(), "MIME-Version: 1.0\nContent-Type: text/html\n\n<p>away</p>\n") {
			t.Errorf("reply:\n%s", b.String())
		}
	})
	t.Run("long 8-bit subject stays within line limits", func(t *testing.T) {
		var b bytes.Buffer
		Compose(&b, HeaderMap{}, env, Vacation{Subject: strings.Repeat("ü", 400)}, user, now, "h")
		for _, line := range strings.Split(b.String(), "\n") {
			if len(line) > 998 {
				t.Fatalf("line of %d bytes", len(line))
			}
		}
		m := parse(t, b.Bytes())
		subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil || subj != strings.Repeat("ü", maxSubject) {
			t.Errorf("subject %q (%v), want %d ü", subj, err, maxSubject)
		}
	})
}

func TestComposeRefuses(t *testing.T) {
	tests := []struct {
		name string
		env  Envelope
		v    Vacation
	}{
		{"null sender", Envelope{Sender: "<>"}, Vacation{}},
		{"bad :from", Envelope{Sender: "a@x"}, Vacation{From: "not an address"}},
		{"sender with a line break", Envelope{Sender: "a@x\nBcc: c@y"}, Vacation{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if _, _, err := Compose(&b, HeaderMap{}, tt.env, tt.v, user, now, "h"); err == nil {
				t.Errorf("composed:\n%s", b.String())
			}
		})
	}
}

func TestTrackKey(t *testing.T) {
	k := TrackKey("Alice@Example.org", "h1")
	if len(k) != 64 {
		t.Fatalf("key %q", k)
	}
	if TrackKey("<alice@example.org>", "h1") != k {
		t.Error("the same sender in another case or in brackets gives another key")
	}
	if TrackKey("alice@example.org", "h2") == k || TrackKey("bob@example.org", "h1") == k {
		t.Error("handle or sender does not change the key")
	}
	if TrackKey("a", "b\x00c") == TrackKey("a\x00b", "c") {
		t.Error("parts run together")
	}
}

func TestRedirectLoop(t *testing.T) {
	tests := []struct {
		h    HeaderMap
		want bool
	}{
		{HeaderMap{}, false},
		{HeaderMap{"X-Sieve-Redirected-From": {"bob@example.net"}}, true},
		{HeaderMap{"X-Sieve-Redirected-From": {" <BOB@example.net>"}}, true},
		{HeaderMap{"X-Sieve-Redirected-From": {"carol@example.net"}}, false},
		{HeaderMap{"Delivered-To": {"bob@example.net"}}, true},
		{HeaderMap{"Delivered-To": {"carol@example.net"}}, false},
	}
	for _, tt := range tests {
		if got := RedirectLoop(tt.h, user); got != tt.want {
			t.Errorf("RedirectLoop(%v) = %v, want %v", tt.h, got, tt.want)
		}
	}
}

func TestWriteRedirect(t *testing.T) {
	msg := "From: a@x\r\nSubject: s\r\n\r\nbody\r\nFrom the start\r\n"
	var b bytes.Buffer
	if err := WriteRedirect(&b, strings.NewReader(msg), "<bob@example.net>"); err != nil {
		t.Fatal(err)
	}
	if want := "X-Sieve-Redirected-From: bob@example.net\n" + msg; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	m := parse(t, b.Bytes())
	if !RedirectLoop(HeaderMap(m.Header), user) {
		t.Error("a redirected message does not read as a loop when it comes back")
	}
	if err := WriteRedirect(&b, strings.NewReader(msg), "bob@x\nBcc: c@y"); err == nil {
		t.Error("recipient with a line break accepted")
	}
}
