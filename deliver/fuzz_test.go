package deliver_test

// A round-trip fuzzer for the whole write path: whatever message arrives,
// every reader of the mailbox letterbox wrote — mbox.Reader with the
// variant DetectQuoting finds, "letterbox check" and "letterbox convert" —
// sees exactly the messages delivered, the messages around it unchanged,
// and the fields letterbox prepends not continued by the message. Python's
// mailbox reads the seeds in cmd/letterbox/framing_test.go.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"letterbox/config"
	"letterbox/convert"
	"letterbox/deliver"
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/mailcheck"
	"letterbox/maildir"
	"letterbox/mbox"
)

const (
	victim1 = "Subject: v1\n\nFrom the start\n"
	victim2 = "Subject: v2\n\nFrom the end\n"
)

func FuzzDeliverRoundTrip(f *testing.F) {
	for _, s := range []string{
		"Subject: t\nbogus\nContent-Length: 5\n\nbody\n",                                                                     // item 1
		"Subject: t\nbogus\nContent-Length: 5\n\nxxxxx\nFrom evil@x  Mon Jan  5 00:00:00 2026\nReturn-Path: <evil@x>\n\np\n", // item 2
		" evil\nSubject: t\n\nb\n", // item 4
		"\tfolded\n\nx\n",
		"Content-Length: 3\n\nFrom x\n",
		"Subject: t\nContent-Length: 5\n\nbody\n",
		"no header at all\nFrom here\n",
		"Subject: crlf\r\n\r\nbody\r\nFrom x\r\n",
		"",
		"Subject: only header\n",
	} {
		for q := range uint8(3) {
			f.Add([]byte(s), q)
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte, qi uint8) {
		q := []mbox.Quoting{mbox.MboxRD, mbox.MboxO, mbox.MboxCL2}[qi%3]
		dir := t.TempDir()
		mb := filepath.Join(dir, "M")
		c := config.Default()
		c.MboxQuoting, c.Log = q.String(), "none"
		n := 0
		for _, m := range [][]byte{[]byte(victim1), msg, []byte(victim2)} {
			s, r := "s@x", "r@x"
			_, err := deliver.Deliver(context.Background(), deliver.Request{
				Input: bytes.NewReader(m), Sender: &s, Recipient: &r, Mailbox: mb,
				Config: c, Sys: sys.Real{}, Now: time.Now, TempDir: dir,
			})
			var se *status.Error
			switch {
			case err == nil:
				n++
			case errors.As(err, &se) && se.Code != status.TempFail:
				// Refused for good (a From_ line's sender with control
				// bytes, a loop): not delivered, and nothing written.
			default:
				t.Fatalf("deliver: %v", err)
			}
		}

		// Our reader, in the variant it detects.
		file, err := os.ReadFile(mb)
		if err != nil {
			t.Fatal(err)
		}
		dq, err := mbox.DetectQuoting(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if (dq == mbox.MboxCL2) != (q == mbox.MboxCL2) {
			t.Fatalf("written as %s, detected as %s", q, dq)
		}
		var got [][]byte
		rd := mbox.NewReader(bytes.NewReader(file), dq)
		for {
			if _, err := rd.Next(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("read: %v", err)
			}
			b, err := io.ReadAll(rd)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b)
		}
		if len(got) != n {
			t.Fatalf("%s: %d messages read, %d delivered:\n%q", q, len(got), n, file)
		}
		from := "From the "
		if q == mbox.MboxCL2 {
			from = ">From the " // mboxcl2 as letterbox writes it quotes, lossily
		}
		for i, v := range map[int]string{0: victim1, n - 1: victim2} {
			want := strings.Replace(v, "From the ", from, 1)
			if !bytes.HasSuffix(got[i], []byte("\n\n"+want[strings.Index(want, "\n\n")+2:])) || !bytes.Contains(got[i], []byte(want[:strings.Index(want, "\n")+1])) {
				t.Fatalf("%s: message %d changed: %q", q, i, got[i])
			}
		}
		for i, g := range got {
			// The prepended fields end where they end: the next line is
			// no continuation of them.
			pre := "Return-Path: <s@x>\nDelivered-To: r@x\n"
			if !bytes.HasPrefix(g, []byte(pre)) {
				t.Fatalf("%s: message %d does not start with the prepended fields: %q", q, i, g)
			}
			rest := g[len(pre):]
			if q == mbox.MboxCL2 {
				rest = rest[bytes.IndexByte(rest, '\n')+1:]
			}
			if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
				t.Fatalf("%s: message %d continues a prepended field: %q", q, i, g)
			}
		}

		// letterbox check: the same count, and nothing wrong.
		r, err := mailcheck.Check(mb, mailcheck.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Messages != n || !r.Sound() {
			t.Fatalf("%s: check: %d messages, problems %+v; want %d, none:\n%q", q, r.Messages, r.Problems, n, file)
		}

		// letterbox convert: the same count.
		md := filepath.Join(dir, "md") + "/"
		o := convert.Options{Verify: true, Lock: c.LockPolicy().Options(sys.Real{}, nil), Locks: c.LockPolicy().Methods}
		if _, err := convert.Run(context.Background(), mb, md, o); err != nil {
			t.Fatalf("convert: %v", err)
		}
		files := 0
		maildir.Walk(sys.Real{}, filepath.Clean(md), func(maildir.Message) error { files++; return nil })
		if files != n {
			t.Fatalf("%s: converted %d messages, delivered %d", q, files, n)
		}
	})
}
