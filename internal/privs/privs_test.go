package privs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	if secret := os.Getenv("PRIVS_CHILD"); secret != "" {
		if err := dropChild(secret); err != nil {
			fmt.Println("FAIL:", err)
			os.Exit(1)
		}
		fmt.Println("OK")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestDrop drops to nobody with the mail group in a child process (the drop
// cannot be undone) and checks every thread's credentials from /proc, that
// root's files are closed to it afterwards, and that a second Drop (without
// root) fails. Not as root, Drop itself must fail.
func TestDrop(t *testing.T) {
	if os.Getuid() != 0 {
		if err := Drop(65534, 65534, nil); err == nil || !strings.Contains(err.Error(), "setgroups") {
			t.Fatalf("Drop as a user: %v, want a setgroups error", err)
		}
		return
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PRIVS_CHILD="+secret)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "OK" {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func dropChild(secret string) error {
	// Busy goroutines, so that the runtime has several threads to switch.
	done := make(chan bool)
	defer close(done)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					return
				default:
				}
			}
		}()
	}
	if err := Drop(65534, 65534, []int{8}); err != nil {
		return err
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	if len(tasks) < 2 {
		return fmt.Errorf("only %d threads; the test means to check several", len(tasks))
	}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "status"))
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			want := map[string]string{"Uid": "65534 65534 65534 65534", "Gid": "65534 65534 65534 65534", "Groups": "8"}[k]
			if want != "" && strings.Join(strings.Fields(v), " ") != want {
				return fmt.Errorf("thread %s: %s: %q, want %q", task.Name(), k, strings.TrimSpace(v), want)
			}
		}
	}
	if _, err := os.ReadFile(secret); !errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("read root's 0600 file after the drop: %v, want permission denied", err)
	}
	if err := Drop(0, 0, nil); err == nil {
		return fmt.Errorf("a second Drop, to root, succeeded")
	}
	return nil
}
