package main

// Header framing (issue 12, items 1, 2 and 4): whatever a sender puts in a
// message, every reader of the mailbox letterbox wrote — its own reader,
// "letterbox check", "letterbox convert" and Python's mailbox — finds the
// messages that were delivered, no more and no fewer, and the fields
// letterbox prepended intact.

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// framing delivers msgs in order into mailbox (an mbox path, or a Maildir
// path ending in "/") with config cfg, as -f s@x -r RCPT_i.
func framingDeliver(t *testing.T, dir, cfg, mailbox string, msgs ...string) {
	t.Helper()
	for i, m := range msgs {
		cmd := exec.Command(letterboxPath(t), "deliver", "-c", cfg, "-f", "s@x", "-r", "rcpt"+string(rune('0'+i))+"@x", mailbox)
		cmd.Dir, cmd.Env, cmd.Stdin = dir, testEnv(), strings.NewReader(m)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("deliver %d: %v: %s", i, err, out)
		}
	}
}

// framingConvert converts the mbox m into the Maildir m.md/ and returns
// that Maildir's path.
func framingConvert(t *testing.T, dir, m string) string {
	t.Helper()
	md := m + ".md/"
	cmd := exec.Command(letterboxPath(t), "convert", m, md)
	cmd.Dir, cmd.Env = dir, testEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("convert: %v: %s", err, out)
	}
	return md
}

// checkReport runs "letterbox check --json".
func checkReport(t *testing.T, dir, path string) (variant string, messages int, problems []string) {
	t.Helper()
	cmd := exec.Command(letterboxPath(t), "check", "--json", path)
	cmd.Dir, cmd.Env = dir, testEnv()
	out, _ := cmd.Output()
	var r struct {
		Variant  string `json:"variant"`
		Messages int    `json:"messages"`
		Problems []struct {
			Kind, Detail string
		} `json:"problems"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("check --json: %v: %s", err, out)
	}
	for _, p := range r.Problems {
		problems = append(problems, p.Kind+": "+p.Detail)
	}
	return r.Variant, r.Messages, problems
}

// pythonFields prints, per message of the mbox or Maildir at path as
// Python's mailbox reads it, the Delivered-To field and the body.
const pythonFields = `
import mailbox, sys, json
p = sys.argv[1]
box = mailbox.Maildir(p, factory=None, create=False) if p.endswith("/") else mailbox.mbox(p, create=False)
out = []
for key in sorted(box.keys()):
    m = box.get_message(key)
    out.append({"delivered_to": m.get_all("Delivered-To"), "return_path": m.get_all("Return-Path"),
                "subject": m.get_all("Subject"), "body": m.get_payload(decode=False)})
print(json.dumps(out))
`

type pyMessage struct {
	DeliveredTo []string `json:"delivered_to"`
	ReturnPath  []string `json:"return_path"`
	Subject     []string `json:"subject"`
	Body        string   `json:"body"`
}

func pythonRead(t *testing.T, path string) []pyMessage {
	t.Helper()
	out, err := exec.Command("python3", "-c", pythonFields, path).Output()
	if err != nil {
		t.Fatalf("python mailbox %s: %v", path, err)
	}
	var msgs []pyMessage
	if err := json.Unmarshal(out, &msgs); err != nil {
		t.Fatalf("python output: %v: %s", err, out)
	}
	return msgs
}

// Item 1: one message with a Content-Length after a line that is no field
// must not make the mailbox read as mboxcl, which would leave another
// message's quoted ">From the start" quoted on conversion.
func TestFramingOneMessageCannotFlipVariant(t *testing.T) {
	needPeers(t, "python3")
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "lb.toml"), "log = \"none\"\n", 0o644)
	for _, cl := range []string{"5", "9999"} { // a length that fits, and one that does not
		m := filepath.Join(dir, "M"+cl)
		framingDeliver(t, dir, cfg, m,
			"Subject: v\n\nFrom the start\n",
			"Subject: t\nbogus\nContent-Length: "+cl+"\n\nbody\n")
		variant, n, problems := checkReport(t, dir, m)
		// mboxo and mboxrd cannot be told apart without ">>From" lines.
		if variant != "mboxrd" && variant != "mboxo" || n != 2 || len(problems) != 0 {
			t.Errorf("Content-Length %s: check says %s, %d messages, problems %q; want mboxrd or mboxo, 2, none", cl, variant, n, problems)
		}
		py := pythonRead(t, framingConvert(t, dir, m))
		if len(py) != 2 {
			t.Fatalf("Content-Length %s: converted Maildir holds %d messages, want 2", cl, len(py))
		}
		var bodies []string
		for _, p := range py {
			bodies = append(bodies, p.Body)
		}
		if !strings.Contains(strings.Join(bodies, "|"), "From the start\n") || strings.Contains(strings.Join(bodies, "|"), ">From the start") {
			t.Errorf("Content-Length %s: the victim's body changed in conversion: %q", cl, bodies)
		}
		if py := pythonRead(t, m); len(py) != 2 {
			t.Errorf("Content-Length %s: Python reads %d messages in the mbox, want 2", cl, len(py))
		}
	}
}

// Item 2: in mboxcl2, a header with a line that is no field, a lying
// Content-Length and a From line in the body must not give a second,
// forged message to any reader.
func TestFramingNoInjectionMboxcl2(t *testing.T) {
	needPeers(t, "python3")
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "lb.toml"), "log = \"none\"\nmbox_quoting = \"mboxcl2\"\n", 0o644)
	m := filepath.Join(dir, "M")
	forged := "Subject: t\nbogus\nContent-Length: 5\n\nxxxxx\nFrom evil@x  Mon Jan  5 00:00:00 2026\nReturn-Path: <evil@x>\nSubject: injected\n\npwned\n"
	framingDeliver(t, dir, cfg, m, "Subject: before\n\nhello\n", forged, "Subject: after\n\nFrom here\n")
	if _, n, problems := checkReport(t, dir, m); n != 3 || len(problems) != 0 {
		t.Errorf("check: %d messages, problems %q; want 3, none", n, problems)
	}
	py := pythonRead(t, m)
	if len(py) != 3 {
		t.Fatalf("Python reads %d messages, want 3", len(py))
	}
	conv := pythonRead(t, framingConvert(t, dir, m))
	if len(conv) != 3 {
		t.Fatalf("converted: %d messages, want 3", len(conv))
	}
	for _, p := range append(py, conv...) {
		if len(p.ReturnPath) != 1 || p.ReturnPath[0] != "<s@x>" {
			t.Errorf("a message with Return-Path %q: forged", p.ReturnPath)
		}
	}
}

// Item 4: a message whose first line begins with white space must not
// continue the Delivered-To: (or, in mboxcl2, the Content-Length:)
// letterbox prepends — in an mbox of each variant and in a Maildir.
func TestFramingLeadingContinuation(t *testing.T) {
	needPeers(t, "python3")
	dir := t.TempDir()
	msg := " evil\nSubject: t\n\nb\n"
	for _, q := range []string{"mboxrd", "mboxo", "mboxcl2", "maildir"} {
		conf, box := "log = \"none\"\nmbox_quoting = \""+q+"\"\n", filepath.Join(dir, q)
		if q == "maildir" {
			conf, box = "log = \"none\"\n", box+"/"
		}
		cfg := writeFile(t, filepath.Join(dir, q+".toml"), conf, 0o644)
		framingDeliver(t, dir, cfg, box, msg, "Subject: next\n\nx\n")
		py := pythonRead(t, box)
		if len(py) != 2 {
			t.Fatalf("%s: Python reads %d messages, want 2", q, len(py))
		}
		var tos []string
		for _, p := range py {
			tos = append(tos, p.DeliveredTo...)
		}
		if strings.Join(tos, ",") != "rcpt0@x,rcpt1@x" && strings.Join(tos, ",") != "rcpt1@x,rcpt0@x" {
			t.Errorf("%s: Delivered-To values %q; want exactly rcpt0@x and rcpt1@x", q, tos)
		}
		if q != "maildir" {
			if _, n, problems := checkReport(t, dir, box); n != 2 || len(problems) != 0 {
				t.Errorf("%s: check: %d messages, problems %q", q, n, problems)
			}
		}
	}
}
