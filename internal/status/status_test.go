package status

import (
	"errors"
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	e := Temp("4.2.0", errors.New("/var/mail/a: lock busy\nforged: line\r"))
	if got := e.Line(); got != "4.2.0 /var/mail/a: lock busy forged: line " {
		t.Fatalf("Line = %q", got)
	}
	if e.Code != TempFail {
		t.Fatalf("code %d", e.Code)
	}
	long := Perm("5.3.0", Usage, errors.New(strings.Repeat("x", 10000)))
	if n := len(long.Line()); n != 4095 {
		t.Fatalf("line of %d bytes, want 4095 (4096 with the newline)", n)
	}
	if !errors.Is(long, long.Err) {
		t.Fatal("Unwrap")
	}
}
