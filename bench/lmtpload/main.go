// Command lmtpload is bench/lmtp.sh's load client. It delivers the
// messages of a corpus directory over C concurrent streams, either as an
// LMTP client (-server) or by running a pipe MDA once per message with the
// message on its standard input (-exec: the remaining arguments, "{user}"
// replaced by the recipient's user), and prints one line:
//
//	acked=N errors=E rate=R p50=MS p99=MS wall=S
//
// rate is acknowledged deliveries per second of wall time, from the moment
// every stream is ready (connected, LHLO answered) to the last reply; p50
// and p99 are the latency of one transaction (MAIL sent to the final
// reply after DATA, or the MDA's run), nearest rank, successful ones only.
//
// Each transaction has one recipient, u<K>@example.test, K drawn from
// -users by a fixed seed, and each message gets "X-Bench-Id: SEQ" as its
// first line, so that -acked FILE ("SEQ u<K>" per acknowledged delivery)
// can be checked against what the mailboxes hold. An LMTP stream runs its
// transactions back to back on one connection (an MTA's cached
// connection), pipelining MAIL, RCPT and DATA when the server offers
// PIPELINING. No transaction starts after -deadline. It exits 0 only if
// every transaction was acknowledged.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	server := flag.String("server", "", "LMTP server: unix:PATH or HOST:PORT")
	execMode := flag.Bool("exec", false, "run the remaining arguments once per message ({user} is replaced)")
	conns := flag.Int("c", 1, "concurrent streams")
	count := flag.Int("n", 1000, "transactions")
	users := flag.Int("users", 1, "recipients u0..u(N-1), drawn with a fixed seed")
	corpus := flag.String("corpus", "", "directory of messages (LF line ends), used in name order, cyclically")
	bigMiB := flag.Int("big", 0, "instead of a corpus, one generated message of this many MiB")
	deadline := flag.Duration("deadline", 60*time.Second, "start no transaction after this")
	timeout := flag.Duration("timeout", 60*time.Second, "per read or write on a connection")
	pipelining := flag.Bool("pipelining", true, "pipeline MAIL, RCPT, DATA when the server offers PIPELINING")
	acked := flag.String("acked", "", "write \"SEQ USER\" for every acknowledged delivery here")
	flag.Parse()
	if (*server == "") == !*execMode || (*execMode && flag.NArg() == 0) || *conns < 1 || *count < 1 || *users < 1 {
		fmt.Fprintln(os.Stderr, "usage: lmtpload -server ADDR [flags] | lmtpload -exec [flags] -- COMMAND [ARG...]")
		os.Exit(64)
	}

	msgs, err := loadMessages(*corpus, *bigMiB)
	if err != nil {
		fatal(err)
	}
	// LMTP bodies: CRLF line ends, dot-stuffed, ending in CRLF.CRLF.
	var wire [][]byte
	if !*execMode {
		wire = make([][]byte, len(msgs))
		for i, m := range msgs {
			wire[i] = toWire(m)
		}
	}
	rng := rand.New(rand.NewPCG(20261122, uint64(*users)))
	rcpt := make([]int, *count)
	for i := range rcpt {
		if *users > 1 {
			rcpt[i] = rng.IntN(*users)
		}
	}

	var next atomic.Int64 // the next sequence number to deliver
	var errCount atomic.Int64
	var firstErr sync.Once
	noteErr := func(err error) {
		errCount.Add(1)
		firstErr.Do(func() { fmt.Fprintln(os.Stderr, "lmtpload:", err) })
	}
	type result struct {
		lat []time.Duration
		ok  []int
	}
	results := make([]result, *conns)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	var stop time.Time
	ready.Add(*conns)
	done.Add(*conns)
	for k := range *conns {
		go func() {
			defer done.Done()
			res := &results[k]
			var deliver func(seq int) error
			var quit func()
			if *execMode {
				deliver = func(seq int) error {
					return runMDA(flag.Args(), fmt.Sprintf("u%d", rcpt[seq]), seq, msgs[seq%len(msgs)])
				}
				quit = func() {}
			} else {
				c, err := dial(*server, *timeout, *pipelining)
				if err != nil {
					noteErr(err)
					ready.Done()
					return
				}
				deliver = func(seq int) error { return c.transaction(seq, rcpt[seq], wire[seq%len(wire)]) }
				quit = c.quit
			}
			ready.Done()
			<-start
			for {
				seq := int(next.Add(1) - 1)
				if seq >= *count || time.Now().After(stop) {
					break
				}
				t0 := time.Now()
				if err := deliver(seq); err != nil {
					noteErr(fmt.Errorf("message %d: %w", seq, err))
					var ce connErr
					if errors.As(err, &ce) {
						return // the connection is gone
					}
					continue
				}
				res.lat = append(res.lat, time.Since(t0))
				res.ok = append(res.ok, seq)
			}
			quit()
		}()
	}
	ready.Wait()
	t0 := time.Now()
	stop = t0.Add(*deadline)
	close(start)
	done.Wait()
	wall := time.Since(t0)

	var lat []time.Duration
	var out bytes.Buffer
	n := 0
	for _, r := range results {
		lat = append(lat, r.lat...)
		for _, seq := range r.ok {
			fmt.Fprintf(&out, "%d u%d\n", seq, rcpt[seq])
			n++
		}
	}
	if *acked != "" {
		if err := os.WriteFile(*acked, out.Bytes(), 0o644); err != nil {
			fatal(err)
		}
	}
	slices.Sort(lat)
	fmt.Printf("acked=%d errors=%d rate=%.1f p50=%.3f p99=%.3f wall=%.3f\n",
		n, errCount.Load(), float64(n)/wall.Seconds(), ms(pct(lat, 50)), ms(pct(lat, 99)), wall.Seconds())
	if errCount.Load() > 0 {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "lmtpload:", err)
	os.Exit(1)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pct is the nearest-rank percentile p of sorted v.
func pct(v []time.Duration, p int) time.Duration {
	if len(v) == 0 {
		return 0
	}
	k := (p*len(v) + 99) / 100
	return v[max(k, 1)-1]
}

func loadMessages(dir string, bigMiB int) ([][]byte, error) {
	if bigMiB > 0 {
		line := strings.Repeat("x", 98) + "\n"
		var b bytes.Buffer
		b.WriteString("Subject: big\n\n")
		for b.Len() < bigMiB<<20 {
			b.WriteString(line)
		}
		return [][]byte{b.Bytes()}, nil
	}
	if dir == "" {
		return nil, errors.New("give -corpus DIR or -big MIB")
	}
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("no messages in %s", dir)
	}
	slices.Sort(names)
	msgs := make([][]byte, len(names))
	for i, n := range names {
		if msgs[i], err = os.ReadFile(n); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

func toWire(m []byte) []byte {
	var b bytes.Buffer
	for len(m) > 0 {
		line, rest, _ := bytes.Cut(m, []byte("\n"))
		m = rest
		if len(line) > 0 && line[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

// runMDA runs argv once with the message on standard input.
func runMDA(argv []string, user string, seq int, msg []byte) error {
	args := make([]string, len(argv))
	for i, a := range argv {
		args[i] = strings.ReplaceAll(a, "{user}", user)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = io.MultiReader(strings.NewReader(fmt.Sprintf("X-Bench-Id: %d\n", seq)), bytes.NewReader(msg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// connErr is a failure that ends the connection.
type connErr struct{ error }

type client struct {
	nc       net.Conn
	r        *bufio.Reader
	timeout  time.Duration
	pipeline bool
}

func dial(addr string, timeout time.Duration, pipelining bool) (*client, error) {
	network := "tcp"
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", p
	}
	nc, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	c := &client{nc: nc, r: bufio.NewReaderSize(nc, 4096), timeout: timeout}
	if code, _, err := c.reply(); err != nil || code != 220 {
		nc.Close()
		return nil, fmt.Errorf("greeting: %d %v", code, err)
	}
	if err := c.send([]byte("LHLO bench.test\r\n")); err != nil {
		nc.Close()
		return nil, err
	}
	code, lines, err := c.reply()
	if err != nil || code != 250 {
		nc.Close()
		return nil, fmt.Errorf("LHLO: %d %v", code, err)
	}
	for _, l := range lines {
		if strings.EqualFold(strings.TrimSpace(l), "PIPELINING") {
			c.pipeline = pipelining
		}
	}
	return c, nil
}

func (c *client) send(b ...[]byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	bufs := net.Buffers(b)
	if _, err := bufs.WriteTo(c.nc); err != nil {
		return connErr{err}
	}
	return nil
}

// reply reads one reply, its code and the text of its lines.
func (c *client) reply() (int, []string, error) {
	var lines []string
	for {
		c.nc.SetReadDeadline(time.Now().Add(c.timeout))
		l, err := c.r.ReadString('\n')
		if err != nil {
			return 0, lines, connErr{err}
		}
		l = strings.TrimRight(l, "\r\n")
		if len(l) < 3 {
			return 0, lines, connErr{fmt.Errorf("malformed reply %q", l)}
		}
		var code int
		if _, err := fmt.Sscanf(l[:3], "%d", &code); err != nil {
			return 0, lines, connErr{fmt.Errorf("malformed reply %q", l)}
		}
		if len(l) > 4 {
			lines = append(lines, l[4:])
		}
		if len(l) == 3 || l[3] == ' ' {
			return code, lines, nil
		}
	}
}

func (c *client) expect(want int, what string) error {
	code, lines, err := c.reply()
	if err != nil {
		return err
	}
	if code/100 != want/100 {
		return fmt.Errorf("%s: %d %s", what, code, strings.Join(lines, " "))
	}
	return nil
}

// transaction delivers one message to u<user>: MAIL, RCPT, DATA, the
// message, one final reply. A refused command ends it with RSET.
func (c *client) transaction(seq, user int, body []byte) error {
	mail := []byte("MAIL FROM:<sender@example.org>\r\n")
	rcpt := []byte(fmt.Sprintf("RCPT TO:<u%d@example.test>\r\n", user))
	data := []byte("DATA\r\n")
	var err error
	if c.pipeline {
		if err := c.send(mail, rcpt, data); err != nil {
			return err
		}
		for _, s := range []struct {
			code int
			what string
		}{{250, "MAIL"}, {250, "RCPT"}, {354, "DATA"}} {
			if e := c.expect(s.code, s.what); e != nil && err == nil {
				err = e
			}
		}
	} else {
		for _, s := range []struct {
			cmd  []byte
			code int
			what string
		}{{mail, 250, "MAIL"}, {rcpt, 250, "RCPT"}, {data, 354, "DATA"}} {
			if err = c.send(s.cmd); err == nil {
				err = c.expect(s.code, s.what)
			}
			if err != nil {
				break
			}
		}
	}
	if err != nil {
		var ce connErr
		if !errors.As(err, &ce) {
			if e := c.send([]byte("RSET\r\n")); e != nil {
				return e
			}
			if e := c.expect(250, "RSET"); e != nil {
				return e
			}
		}
		return err
	}
	if err := c.send([]byte(fmt.Sprintf("X-Bench-Id: %d\r\n", seq)), body); err != nil {
		return err
	}
	return c.expect(250, "after DATA")
}

func (c *client) quit() {
	if c.send([]byte("QUIT\r\n")) == nil {
		c.reply()
	}
	c.nc.Close()
}
