package locking

import (
	"path/filepath"
	"strings"
	"testing"

	"letterbox/internal/sys"
)

func TestOwnerRoundTrip(t *testing.T) {
	id := sys.Identity{Host: "mx1.example.org", Boot: "5e1c-77", PidNS: "4026531836", Pid: 4711, Start: 123456}
	o, err := newOwner(id)
	if err != nil {
		t.Fatal(err)
	}
	line := o.String()
	// liblockfile L_PID readers must see pid 0, Dovecot must not see "pid:host".
	if c := line[0]; c >= '0' && c <= '9' || strings.Contains(line, ":") {
		t.Fatalf("content %q starts with a digit or holds ':'", line)
	}
	got, ok := parseOwner([]byte(line))
	if !ok || got != o {
		t.Fatalf("parse(%q) = %+v, %v; want %+v", line, got, ok, o)
	}
	if d := got.describe(); d != "host=mx1.example.org pid=4711" {
		t.Fatalf("describe = %q", d)
	}
}

func TestParseOwnerRejects(t *testing.T) {
	good, _ := newOwner(sys.Identity{Host: "h", Boot: "b", PidNS: "1", Pid: 1, Start: 1})
	for _, c := range []string{
		"", "0", "0\n", "12345\n", "4711:mx1\n",
		strings.TrimSuffix(good.String(), "\n"), // truncated: no newline
		strings.Replace(good.String(), "letterbox", "other", 1),
		strings.Replace(good.String(), "pid=1 ", "pid=x ", 1),
		strings.Replace(good.String(), "pid=1 ", "pid=0 ", 1),
		strings.Replace(good.String(), good.tok, "abc", 1),
		good.String() + "extra\n",
	} {
		if _, ok := parseOwner([]byte(c)); ok {
			t.Errorf("parseOwner(%q) accepted", c)
		}
	}
}

func TestClean(t *testing.T) {
	o, _ := newOwner(sys.Identity{Host: "evil host=x:y\n", Boot: "", PidNS: "1", Pid: 2, Start: 3})
	if _, ok := parseOwner([]byte(o.String())); !ok {
		t.Fatalf("a hostile hostname broke the lock line: %q", o.String())
	}
}

func TestUniqueName(t *testing.T) {
	o := owner{tok: strings.Repeat("a", 32), host: "mx1.example.org", pid: 42}
	u, err := uniqueName("/var/mail/alice.lock", o)
	if err != nil || u != "/var/mail/alice.lock.mx1.42."+o.tok {
		t.Fatalf("uniqueName = %q, %v", u, err)
	}
	if !ownLeftover(strings.TrimPrefix(u, "/var/mail/alice.lock.")) {
		t.Fatal("own unique name not recognised as a leftover")
	}

	// A long host name is cut so the name fits NAME_MAX.
	o.host = strings.Repeat("h", 300)
	long := "/d/" + strings.Repeat("m", 180) + ".lock"
	u, err = uniqueName(long, o)
	if err != nil || len(filepath.Base(u)) > 255 {
		t.Fatalf("uniqueName = %d bytes, %v", len(filepath.Base(u)), err)
	}
	// A mailbox name that leaves no room gets the short form; a lock name
	// that is itself too long is refused.
	u, err = uniqueName("/d/"+strings.Repeat("m", 230)+".lock", o)
	if err != nil || u != "/d/.letterbox.42."+o.tok {
		t.Fatalf("uniqueName = %q, %v", u, err)
	}
	if _, err := uniqueName("/d/"+strings.Repeat("m", 251)+".lock", o); err == nil {
		t.Fatal("lock name longer than NAME_MAX accepted")
	}
	for _, n := range []int{10, 230, 250} {
		p, err := privateName("/d/"+strings.Repeat("m", n)+".lock", "rel")
		if err != nil || len(filepath.Base(p)) > 255 || !strings.Contains(p, "rel.") {
			t.Fatalf("privateName(%d) = %q, %v", n, p, err)
		}
	}
}

func TestShortHost(t *testing.T) {
	for in, want := range map[string]string{
		"mx1.example.org": "mx1", "MX_2": "MX-2", "": "localhost", "a/b:c": "a-b-c", ".x": "localhost",
	} {
		if got := shortHost(in); got != want {
			t.Errorf("shortHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOwnLeftover(t *testing.T) {
	hex := "0123456789abcdef0123456789abcdef"
	for rest, want := range map[string]bool{
		"rel." + hex: true, "brk." + hex: true, "mx1.42." + hex: true,
		"mx1.x42." + hex: false, "rel.xyz": false, "other." + hex: false,
		"lk0123": false, "nfs1234": false, "": false, "mx1.42." + hex + ".x": false,
	} {
		if got := ownLeftover(rest); got != want {
			t.Errorf("ownLeftover(%q) = %v, want %v", rest, got, want)
		}
	}
}
