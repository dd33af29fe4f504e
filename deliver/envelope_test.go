package deliver

import (
	"errors"
	"strings"
	"testing"

	"letterbox/internal/status"
)

func TestCheckAddress(t *testing.T) {
	tests := []struct {
		a    string
		want error
	}{
		{"", nil},
		{"alice@example.org", nil},
		{`"john doe"@example.org`, nil},
		{"üser@exämple.org", nil},
		{strings.Repeat("a", MaxAddressLen), nil},
		{strings.Repeat("a", MaxAddressLen+1), ErrAddressLong},
		{"a@b\n", ErrAddressControl},
		{"a@b\r\nX-Forged: 1", ErrAddressControl},
		{"a\x00@b", ErrAddressControl},
		{"a\t@b", ErrAddressControl},
		{"a\x1b@b", ErrAddressControl},
		{"a\x7f@b", ErrAddressControl},
		{"\x1f", ErrAddressControl},
	}
	for _, tt := range tests {
		if err := CheckAddress(tt.a); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Errorf("CheckAddress(%.40q) = %v, want %v", tt.a, err, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	vm := func() (string, error) { return "vm", nil }
	str := func(s string) *string { return &s }
	block := Scan{
		ReturnPath: "rp@x", HasReturnPath: true,
		OriginalTo: "ot@x", HasOriginalTo: true,
		DeliveredTo: "dt@x", HasDeliveredTo: true,
	}
	nullBlock := Scan{HasReturnPath: true}
	type in struct {
		f, a, r *string
		env     map[string]string
		from    string
		hasFrom bool
		scan    Scan
	}
	tests := []struct {
		name string
		in   in
		want Envelope
		dsn  string // of the error, "" for none
	}{
		// The sender: -f, $SENDER, From_ line, Return-Path:, null.
		{"sender from -f", in{f: str("f@x"), env: map[string]string{"SENDER": "env@x", "USER": "u"}, from: "from@x", hasFrom: true, scan: block},
			Envelope{Sender: "f@x", OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
		{"-f empty is null", in{f: str(""), env: map[string]string{"SENDER": "env@x"}, from: "from@x", hasFrom: true, scan: block},
			Envelope{NullSender: true, OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
		{"-f <> is null", in{f: str("<>"), scan: block},
			Envelope{NullSender: true, OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
		{"-f MAILER-DAEMON is null (pipe's ${sender})", in{f: str("mailer-daemon"), scan: block},
			Envelope{NullSender: true, OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
		{"-f brackets removed", in{f: str("<f@x>"), scan: block},
			Envelope{Sender: "f@x", OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
		{"$SENDER", in{env: map[string]string{"SENDER": "env@x"}, from: "from@x", hasFrom: true, scan: block},
			Envelope{Sender: "env@x", OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
		{"From_ line", in{from: "from@x", hasFrom: true, scan: block},
			Envelope{Sender: "from@x", OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
		{"From_ line MAILER-DAEMON", in{from: "MAILER-DAEMON", hasFrom: true, scan: block},
			Envelope{NullSender: true, OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
		{"From_ line quoted", in{from: `"john doe"@x`, hasFrom: true, scan: block},
			Envelope{Sender: `"john doe"@x`, OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
		{"Return-Path", in{scan: block},
			Envelope{Sender: "rp@x", OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
		{"$SENDER set but empty: null sender (Postfix local)", in{env: map[string]string{"SENDER": "", "USER": "u"}, from: "f@x", hasFrom: true, scan: block},
			Envelope{NullSender: true, OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
		{"Return-Path <>", in{scan: nullBlock, env: map[string]string{"USER": "u"}},
			Envelope{NullSender: true, Recipient: "u@vm"}, ""},
		{"nothing: null sender", in{env: map[string]string{"USER": "u"}},
			Envelope{NullSender: true, Recipient: "u@vm"}, ""},

		// The original recipient: -a, $ORIGINAL_RECIPIENT, X-Original-To:, none.
		{"-a", in{a: str("<a@x>"), env: map[string]string{"ORIGINAL_RECIPIENT": "eo@x"}, scan: block},
			Envelope{Sender: "rp@x", OriginalRecipient: "a@x", Recipient: "dt@x"}, ""},
		{"-a empty ignored", in{a: str(""), env: map[string]string{"ORIGINAL_RECIPIENT": "eo@x"}, scan: block},
			Envelope{Sender: "rp@x", OriginalRecipient: "eo@x", Recipient: "dt@x"}, ""},

		// The recipient: -r, $RECIPIENT, Delivered-To:, $USER@hostname.
		{"-r", in{r: str("r@x"), env: map[string]string{"RECIPIENT": "er@x", "USER": "u"}, scan: block},
			Envelope{Sender: "rp@x", OriginalRecipient: "ot@x", Recipient: "r@x"}, ""},
		{"-r empty ignored", in{r: str(""), env: map[string]string{"RECIPIENT": "er@x", "USER": "u"}, scan: block},
			Envelope{Sender: "rp@x", OriginalRecipient: "ot@x", Recipient: "er@x"}, ""},
		{"$RECIPIENT", in{env: map[string]string{"RECIPIENT": "er@x", "USER": "u"}, scan: block},
			Envelope{Sender: "rp@x", OriginalRecipient: "ot@x", Recipient: "er@x"}, ""},
		{"$USER@hostname", in{env: map[string]string{"USER": "u"}},
			Envelope{NullSender: true, Recipient: "u@vm"}, ""},
		{"no recipient at all", in{}, Envelope{NullSender: true}, "4.3.5"},

		// Refused addresses: 5.1.7 for the sender, 5.1.3 for recipients.
		{"-f with LF", in{f: str("a@x\nX: y"), scan: block}, Envelope{}, "5.1.7"},
		{"$SENDER with NUL", in{env: map[string]string{"SENDER": "a\x00@x"}, scan: block}, Envelope{}, "5.1.7"},
		{"From_ sender too long", in{from: strings.Repeat("a", 999), hasFrom: true, scan: block}, Envelope{}, "5.1.7"},
		{"Return-Path too long", in{scan: Scan{ReturnPath: "<" + strings.Repeat("a", 1000), HasReturnPath: true}}, Envelope{}, "5.1.7"},
		{"-a with CR", in{a: str("a@x\r"), scan: block}, Envelope{}, "5.1.3"},
		{"$ORIGINAL_RECIPIENT with DEL", in{env: map[string]string{"ORIGINAL_RECIPIENT": "a\x7f"}, scan: block}, Envelope{}, "5.1.3"},
		{"-r with tab", in{r: str("a\t@x"), scan: block}, Envelope{}, "5.1.3"},
		{"$RECIPIENT with LF", in{env: map[string]string{"RECIPIENT": "a@x\n"}, scan: block}, Envelope{}, "5.1.3"},
		{"$USER with LF", in{env: map[string]string{"USER": "u\n"}}, Envelope{}, "5.1.3"},
		{"a bad value that is not chosen is harmless", in{f: str("f@x"), env: map[string]string{"SENDER": "a\n"}, scan: block},
			Envelope{Sender: "f@x", OriginalRecipient: "ot@x", Recipient: "dt@x"}, ""},
	}
	for _, tt := range tests {
		lookup := func(k string) (string, bool) { v, ok := tt.in.env[k]; return v, ok }
		// The env map's USER is the account delivered for (Recipient.Name).
		user := func() (string, error) { return tt.in.env["USER"], nil }
		got, err := Resolve(Sources{Sender: tt.in.f, OriginalRecipient: tt.in.a, Recipient: tt.in.r,
			LookupEnv: lookup, FromSender: tt.in.from, HasFrom: tt.in.hasFrom, Scan: tt.in.scan, User: user, Hostname: vm})
		if tt.dsn != "" {
			var se *status.Error
			if !errors.As(err, &se) || se.DSN != tt.dsn {
				t.Errorf("%s: err %v, want DSN %s", tt.name, err, tt.dsn)
				continue
			}
			if want := status.DataErr; tt.dsn[0] == '5' && se.Code != want {
				t.Errorf("%s: exit %d, want %d", tt.name, se.Code, want)
			}
			if strings.ContainsAny(se.Line(), "\x00\x7f") {
				t.Errorf("%s: control byte in the status line %q", tt.name, se.Line())
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
		if got.NullSender != (got.Sender == "") {
			t.Errorf("%s: NullSender %v with Sender %q", tt.name, got.NullSender, got.Sender)
		}
	}
}

func TestResolveHostnameError(t *testing.T) {
	_, err := Resolve(Sources{
		User:     func() (string, error) { return "u", nil },
		Hostname: func() (string, error) { return "", errors.New("no name") },
	})
	var se *status.Error
	if !errors.As(err, &se) || se.Code != status.TempFail {
		t.Fatalf("err %v, want a temporary failure", err)
	}
}
