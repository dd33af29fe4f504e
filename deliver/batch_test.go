package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
	"letterbox/mbox"
)

// A batch is one transaction: every message appended under one lock with
// one fsync, or none of them.
func TestAppendBatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		fault  *faulty.Rule
		dsn    string // "" = success
		fsyncs int    // of the mailbox file, on success
	}{
		{name: "one", n: 1, fsyncs: 1},
		{name: "five", n: 5, fsyncs: 1},
		{name: "fsync_fails", n: 3, fault: &faulty.Rule{Op: faulty.Fsync, Path: "M", Err: unix.EIO}, dsn: "4.2.0"},
		{name: "disk_full", n: 3, fault: &faulty.Rule{Op: faulty.Write, Path: "M", Err: unix.ENOSPC}, dsn: "4.3.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := faulty.New(sys.Real{})
			r, mb := request(t, f, "")
			var batch []*Prepared
			for i := range tc.n {
				m, err := ReadMessage(strings.NewReader(fmt.Sprintf("Subject: %d\n\nFrom body %d\n", i, i)), r.TempDir, r.Config)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				p, err := PrepareMbox(m, r)
				if err != nil {
					t.Fatal(err)
				}
				batch = append(batch, p)
			}
			if tc.fault != nil {
				f.Add(tc.fault)
			}
			errs := AppendBatch(context.Background(), batch)
			if len(errs) != tc.n {
				t.Fatalf("%d errors for %d messages", len(errs), tc.n)
			}
			if tc.dsn != "" {
				for i, err := range errs {
					var se *status.Error
					if !errors.As(err, &se) || se.DSN != tc.dsn {
						t.Fatalf("message %d: %v, want %s", i, err, tc.dsn)
					}
				}
				unchanged(t, mb)
				return
			}
			for i, err := range errs {
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			fsyncs := 0
			for _, c := range f.Calls() {
				if c.Op == faulty.Fsync && c.Path == mb {
					fsyncs++
				}
			}
			if fsyncs != tc.fsyncs {
				t.Errorf("%d fsyncs of the mailbox, want %d", fsyncs, tc.fsyncs)
			}
			b, _ := os.ReadFile(mb)
			rd := mbox.NewReader(strings.NewReader(string(b)), mbox.MboxRD)
			count := 0
			for {
				_, err := rd.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				count++
			}
			if count != tc.n+1 { // and the seed
				t.Errorf("%d messages, want %d", count, tc.n+1)
			}
			for i := range tc.n {
				if !strings.Contains(string(b), fmt.Sprintf("Subject: %d\n\n>From body %d\n", i, i)) {
					t.Errorf("message %d missing:\n%s", i, b)
				}
			}
		})
	}
}
