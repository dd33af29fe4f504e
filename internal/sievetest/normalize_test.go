package sievetest

import (
	"slices"
	"testing"
)

func TestPigeonholeLines(t *testing.T) {
	tests := []struct {
		name   string
		out    string
		status int
		want   []string
	}{
		{"fileinto, redirect, vacation", `
Performed actions:

 * store message in folder: Lists/go
        + preserve implicit keep
        + add IMAP flags: \flagged
 * store message in folder: New
        + create mailbox if it does not exist
        + add IMAP flags: \seen $Label1
 * redirect message to: <x@example.com>
        + preserve implicit keep
 * send vacation message:
    => seconds : 259200
    => handle  : h1

START MESSAGE
 * not an action
END MESSAGE

Implicit keep:

  (none)

`, 0, []string{
			`fileinto "Lists/go" flags=\Flagged copy`,
			`fileinto "New" flags=$label1 \Seen create`,
			`redirect "x@example.com" copy`,
			`vacation`,
		}},
		{"keep into INBOX and implicit keep with flags", `
Performed actions:

 * store message in folder: INBOX
        + add IMAP flags: \answered
 * track duplicate with handle: h

Implicit keep:

 * store message in folder: INBOX
        + add IMAP flags: \flagged \Flagged

`, 0, []string{`implicit keep flags=\Flagged`, `keep flags=\Answered`}},
		{"discard and reject", `
Performed actions:

 * discard
 * reject message with reason: no thanks

Implicit keep:

  (none)
`, 0, []string{`discard`, `reject "no thanks"`}},
		{"nothing", "\nPerformed actions:\n\n  (none)\n\nImplicit keep:\n\n * store message in folder: INBOX\n", 0, []string{"implicit keep"}},
		{"run-time error", "", 1, []string{"error", "implicit keep"}},
		{"compile error", "", 89, []string{"compile error"}},
		{"unknown action", "Performed actions:\n * frobnicate\n", 0, []string{`unknown "frobnicate"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PigeonholeLines(tt.out, tt.status); !slices.Equal(got, tt.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestDumpLines(t *testing.T) {
	tests := []struct {
		name, dump string
		want       []string
	}{
		{"every action", `keep flags=\Seen \flagged
fileinto "Lists/go" flags=\Flagged copy create
fileinto "inbox" flags=$Label1
discard
redirect "a@b" copy
reject "say \"no\"\nthanks"
ereject "no"
vacation handle="h" seconds=86400 from="me@x" subject="away" mime
implicit keep flags=\Seen
`, []string{
			`discard`,
			`ereject "no"`,
			`fileinto "Lists/go" flags=\Flagged copy create`,
			`implicit keep flags=\Seen`,
			`keep flags=$label1`,
			`keep flags=\Flagged \Seen`,
			`redirect "a@b" copy`,
			`reject "say \"no\"\nthanks"`,
			`vacation`,
		}},
		{"implicit keep alone", "implicit keep\n", []string{"implicit keep"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DumpLines(tt.dump); !slices.Equal(got, tt.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
