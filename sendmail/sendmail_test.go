package sendmail

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"letterbox/internal/status"
)

// fake writes a sendmail stand-in into a temporary directory: it records
// its arguments, environment and standard input beside itself, prints body
// on standard error, and runs tail (an exit, a sleep, a kill).
func fake(t *testing.T, tail string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "sendmail")
	script := "#!/bin/sh\n" +
		"for a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + dir + "/args\n" +
		"env > " + dir + "/env\n" +
		"cat > " + dir + "/stdin\n" +
		tail + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestArgumentsAndInput(t *testing.T) {
	path, dir := fake(t, "exit 0")
	t.Setenv("TZ", "UTC")
	t.Setenv("SECRET", "x")
	tests := []struct {
		sender string
		want   string
	}{
		{"alice@example.org", "-i\n-f\nalice@example.org\n--\nbob@example.net\nx-@example.net\n"},
		{"", "-i\n-f\n<>\n--\nbob@example.net\nx-@example.net\n"},
		{"<>", "-i\n-f\n<>\n--\nbob@example.net\nx-@example.net\n"},
	}
	for _, tt := range tests {
		err := Send(context.Background(), path, tt.sender, []string{"bob@example.net", "x-@example.net"}, strings.NewReader("Subject: x\n\n.\nbody\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := read(t, dir+"/args"); got != tt.want {
			t.Errorf("sender %q: args %q, want %q", tt.sender, got, tt.want)
		}
		// -i: the lone dot is the sendmail's business, passed unchanged.
		if got := read(t, dir+"/stdin"); got != "Subject: x\n\n.\nbody\n" {
			t.Errorf("stdin %q", got)
		}
	}
	e := read(t, dir+"/env")
	if !strings.Contains(e, "TZ=UTC\n") || strings.Contains(e, "SECRET") || !strings.Contains(e, "PATH=/usr/sbin:") {
		t.Errorf("environment not minimal:\n%s", e)
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		tail string
		dsn  string
		code int
	}{
		{"exit 0", "", 0},
		{"echo 'user unknown' >&2; exit 67", "5.1.1", 67},
		{"exit 65", "5.6.0", 65},
		{"exit 68", "5.1.2", 68},
		{"exit 75", "4.3.0", 75},
		{"exit 64", "4.3.0", 75},
		{"exit 69", "4.3.0", 75},
		{"exit 70", "4.3.0", 75},
		{"exit 71", "4.3.0", 75},
		{"exit 73", "4.3.0", 75},
		{"exit 77", "4.3.0", 75},
		{"exit 78", "4.3.0", 75},
		{"exit 1", "4.3.0", 75},
		{"kill -KILL $$", "4.3.0", 75},
	}
	for _, tt := range tests {
		t.Run(tt.tail, func(t *testing.T) {
			path, _ := fake(t, tt.tail)
			err := Send(context.Background(), path, "a@example.org", []string{"b@example.net"}, strings.NewReader("x\n"))
			if tt.dsn == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *status.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want *status.Error", err, err)
			}
			if se.DSN != tt.dsn || se.Code != tt.code {
				t.Errorf("got %s/%d, want %s/%d (%v)", se.DSN, se.Code, tt.dsn, tt.code, err)
			}
			var xe *ExitError
			if !errors.As(err, &xe) {
				t.Errorf("no ExitError in %v", err)
			}
		})
	}
	t.Run("stderr kept, bounded, one line", func(t *testing.T) {
		path, _ := fake(t, "echo 'bad'; printf 'line1\\nline2\\n' >&2; head -c 100000 /dev/zero | tr '\\0' x >&2; exit 67")
		err := Send(context.Background(), path, "a@example.org", []string{"b@example.net"}, strings.NewReader("x\n"))
		var xe *ExitError
		if !errors.As(err, &xe) {
			t.Fatalf("err = %v", err)
		}
		if !strings.HasPrefix(xe.Output, "line1 line2 xxx") || len(xe.Output) > MaxOutput {
			t.Errorf("output %q (%d bytes)", xe.Output[:min(40, len(xe.Output))], len(xe.Output))
		}
	})
}

func TestTimeoutKillsGroup(t *testing.T) {
	// The script's child keeps the pipes open: only killing the group ends
	// the wait.
	path, dir := fake(t, "sleep 30 & echo $! > "+"PIDFILE"+"; wait")
	os.WriteFile(path, []byte(strings.Replace(read(t, path), "PIDFILE", filepath.Join(filepath.Dir(path), "child"), 1)), 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Send(ctx, path, "a@example.org", []string{"b@example.net"}, strings.NewReader("x\n"))
	var se *status.Error
	if !errors.As(err, &se) || se.Code != status.TempFail || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a temporary failure for the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	pid := strings.TrimSpace(read(t, dir+"/child"))
	time.Sleep(50 * time.Millisecond)
	if _, err := os.Stat("/proc/" + pid); err == nil {
		st, _ := os.ReadFile("/proc/" + pid + "/stat")
		if !strings.Contains(string(st), ") Z ") {
			t.Errorf("child %s survived the timeout", pid)
		}
	}
}

func TestRefused(t *testing.T) {
	path, _ := fake(t, "exit 0")
	tests := []struct {
		name, path, sender string
		rcpts              []string
	}{
		{"relative path", "sendmail", "a@example.org", []string{"b@x"}},
		{"path with arguments", path + " -t", "a@example.org", []string{"b@x"}},
		{"no recipients", path, "a@example.org", nil},
		{"option as sender", path, "-oQ/tmp", []string{"b@x"}},
		{"option as recipient", path, "a@x", []string{"-C/tmp/cf"}},
		{"newline in recipient", path, "a@x", []string{"b@x\nBcc: c@y"}},
		{"space in sender", path, "a b@x", []string{"b@x"}},
		{"empty recipient", path, "a@x", []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Send(context.Background(), tt.path, tt.sender, tt.rcpts, strings.NewReader("x\n"))
			var se *status.Error
			if !errors.As(err, &se) || se.Code != status.TempFail {
				t.Errorf("err = %v, want a temporary refusal", err)
			}
		})
	}
	t.Run("cannot exec", func(t *testing.T) {
		err := Send(context.Background(), "/nonexistent/sendmail", "a@x", []string{"b@x"}, strings.NewReader("x\n"))
		var se *status.Error
		if !errors.As(err, &se) || se.Code != status.TempFail {
			t.Errorf("err = %v, want temporary", err)
		}
	})
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		r.n++
		return copy(p, "Subject: half\n\nfirst half\n"), nil
	}
	return 0, errors.New("spool read error")
}

// TestReadErrorSubmitsNothing: a message that cannot be read to its end
// must not be submitted cut short: the program is killed before it sees
// the end of its input.
func TestReadErrorSubmitsNothing(t *testing.T) {
	path, dir := fake(t, "touch "+"DONE")
	os.WriteFile(path, []byte(strings.Replace(read(t, path), "DONE", filepath.Join(filepath.Dir(path), "submitted"), 1)), 0o755)
	err := Send(context.Background(), path, "a@x", []string{"b@x"}, &failingReader{})
	var se *status.Error
	if !errors.As(err, &se) || se.Code != status.TempFail {
		t.Fatalf("err = %v, want temporary", err)
	}
	if _, err := os.Stat(dir + "/submitted"); err == nil {
		t.Error("the program reached the end of its input and submitted")
	}
}
