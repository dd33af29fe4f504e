package lmtp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"letterbox/config"
	"letterbox/deliver"
	"letterbox/internal/sys"
)

// Options configure a Server.
type Options struct {
	Config     config.Config
	ConfigPath string // passed to "letterbox deliver -c" for system users; "" for none
	Sys        sys.Sys
	Users      deliver.Users // the user database, for deliveries without [lmtp] mailbox
	Log        *slog.Logger
	TempDir    string           // where large messages are spooled; "" is os.TempDir()
	Hostname   string           // in the greeting
	Exe        string           // the letterbox binary for system users' deliveries ("letterbox deliver -d USER"); "" is /proc/self/exe
	Now        func() time.Time // the From_ line's time; nil is time.Now
}

// settings are what a transaction uses, fixed when it begins (MAIL), so a
// reload (SIGHUP) never changes a transaction half-way.
type settings struct {
	Options
	gen uint64 // the reload generation: mbox queues never mix two
}

// Server is the LMTP server. Make one with New.
type Server struct {
	smtp   *smtp.Server
	cur    atomic.Pointer[settings]
	queues queues
	cancel context.CancelFunc // ends the deliveries' context: Close only

	maxConns int
	timeout  time.Duration
	slots    chan struct{}

	mu      sync.Mutex
	closing bool
	tracked map[*conn]struct{}
}

// New makes a server from o. The protocol limits ([lmtp] max_connections,
// max_recipients, max_line_length, timeout, and message_size_limit) are
// taken now and kept for the server's life; Reload changes the rest.
func New(o Options) *Server {
	o = withDefaults(o)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		queues:  queues{ctx: ctx, m: map[string]*queue{}},
		cancel:  cancel,
		tracked: map[*conn]struct{}{},
	}
	l := o.Config.LMTP
	s.maxConns, s.timeout = l.MaxConnections, l.Timeout.Duration
	s.slots = make(chan struct{}, s.maxConns)
	s.cur.Store(&settings{Options: o})
	ss := smtp.NewServer(backend{s})
	ss.LMTP = true
	ss.Domain = o.Hostname
	ss.MaxRecipients = l.MaxRecipients
	ss.MaxLineLength = l.MaxLineLength
	ss.MaxMessageBytes = o.Config.MessageSizeLimit // 0: none; the spool keeps memory bounded
	ss.ReadTimeout = s.timeout
	ss.WriteTimeout = s.timeout
	ss.ErrorLog = errorLog{o.Log}
	s.smtp = ss
	return s
}

func withDefaults(o Options) Options {
	if o.Sys == nil {
		o.Sys = sys.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Exe == "" {
		o.Exe = "/proc/self/exe"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	return o
}

// Reload makes o the settings of every transaction that begins from now
// on: the delivery configuration, the mailbox template, the user
// database, the log. Transactions under way finish with what they began
// with. The protocol limits New took stay.
func (s *Server) Reload(o Options) {
	old := s.cur.Load()
	s.cur.Store(&settings{Options: withDefaults(o), gen: old.gen + 1})
}

// Serve accepts connections on l until Shutdown or Close; it returns nil
// then. A connection over max_connections is answered 421 4.3.2 and
// closed.
func (s *Server) Serve(l net.Listener) error {
	err := s.smtp.Serve(&listener{Listener: l, s: s})
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, closes every connection that is not inside
// DATA (telling it 421 4.3.2: no reply of a transaction it began is lost,
// since none was given), lets the transactions inside DATA deliver and
// answer every recipient, closes their connections after that, and
// returns when all are closed, or with ctx's error when ctx ends first
// (then Close ends the rest).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	conns := make([]*conn, 0, len(s.tracked))
	for c := range s.tracked {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shutdown()
	}
	err := s.smtp.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close closes every listener and connection at once and interrupts the
// deliveries under way; an mbox append interrupted is rolled back, so no
// recipient is lost, only answered 4xx or not at all.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.cancel()
	err := s.smtp.Close()
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	return err
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	tc, _ := c.Conn().(*conn)
	return &session{s: b.s, c: tc}, nil
}

// errorLog passes go-smtp's internal errors to the log.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Printf(format string, v ...any) {
	e.log.Warn("lmtp: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}
func (e errorLog) Println(v ...any) { e.log.Warn("lmtp: " + strings.TrimSpace(fmt.Sprintln(v...))) }

// listener limits connections to max_connections and wraps each in a conn.
type listener struct {
	net.Listener
	s *Server
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.s.slots <- struct{}{}:
		default:
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte("421 4.3.2 Too many connections, try again later\r\n"))
			c.Close()
			continue
		}
		tc := &conn{Conn: c, s: l.s}
		l.s.mu.Lock()
		closing := l.s.closing
		if !closing {
			l.s.tracked[tc] = struct{}{}
		}
		l.s.mu.Unlock()
		if closing {
			tc.Close()
			continue
		}
		return tc, nil
	}
}

// conn is one client connection. It gives every read the idle timeout
// (go-smtp sets one deadline per command, which would bound a whole DATA),
// rewrites go-smtp's 502 for commands out of sequence to the 503 RFC 5321
// and RFC 2033 ask for, and knows whether a transaction is inside DATA, for
// Shutdown.
type conn struct {
	net.Conn
	s *Server

	wmu    sync.Mutex
	mu     sync.Mutex
	inData bool
	stop   bool // shutting down: close once out of DATA
	once   sync.Once
}

func (c *conn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.s.timeout))
	return c.Conn.Read(p)
}

// badSequence are go-smtp's replies to a command out of sequence, which it
// sends as 502 ("not implemented") rather than 503 ("bad sequence").
var badSequence = []string{
	"502 5.5.1 Missing RCPT TO command.",
	"502 5.5.1 Missing MAIL FROM command.",
	"502 5.5.1 Please introduce yourself first.",
}

func (c *conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, b := range badSequence {
		if strings.HasPrefix(string(p), b) {
			q := append([]byte("503"), p[3:]...)
			if _, err := c.Conn.Write(q); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

func (c *conn) Close() error {
	var err error
	c.once.Do(func() {
		err = c.Conn.Close()
		c.s.mu.Lock()
		delete(c.s.tracked, c)
		c.s.mu.Unlock()
		<-c.s.slots
	})
	return err
}

// enterData marks the connection inside DATA; false if it is shutting
// down and must take no new message.
func (c *conn) enterData() bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop {
		return false
	}
	c.inData = true
	return true
}

// leaveData marks the end of DATA, after its replies.
func (c *conn) leaveData() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.inData = false
	stop := c.stop
	c.mu.Unlock()
	if stop {
		c.Close()
	}
}

// shutdown closes the connection now when it is not inside DATA, else once
// it leaves it.
func (c *conn) shutdown() {
	c.mu.Lock()
	c.stop = true
	busy := c.inData
	c.mu.Unlock()
	if !busy {
		c.wmu.Lock()
		c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		c.Conn.Write([]byte("421 4.3.2 Shutting down\r\n"))
		c.wmu.Unlock()
		c.Close()
	}
}
