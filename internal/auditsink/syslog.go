package auditsink

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// RFC 5424 header values of every message the syslog sink sends.
const (
	// facilityLogAudit is facility 13, "log audit": the stream is an audit trail of
	// everything operators did (views, searches, changes), not only the authentication
	// and authorisation messages facility 10 (authpriv) is meant for, and SIEMs route 13
	// to their audit indexes.
	facilityLogAudit = 13
	severityWarning  = 4
	severityNotice   = 5
	severityInfo     = 6
	syslogAppName    = "raas-console"
	// syslogSDID is the structured-data element; 32473 is the enterprise number RFC 5424
	// reserves for examples (a registered one replaces it when the vendor has one).
	syslogSDID = "audit@32473"
	nilValue   = "-"
)

// utf8BOM starts MSG so receivers know it is UTF-8 (RFC 5424 §6.4).
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Syslog is the RFC 5424 sink: one message per event over TLS (RFC 5425, octet-counting
// framing). Syslog has no acknowledgement, so a batch counts as delivered once written;
// when the connection turns out to be broken, Deliver returns a *RewindError naming the
// seq to resend from.
type Syslog struct {
	addr         string
	tlsConf      *tls.Config
	hostname     string
	procID       string
	dialTimeout  time.Duration
	writeTimeout time.Duration
	rewindWindow int64

	mu   sync.Mutex
	conn *syslogConn
	buf  []byte
	msg  []byte
}

var _ Sink = (*Syslog)(nil)

// SyslogOption changes a default of NewSyslog.
type SyslogOption func(*Syslog)

// WithSyslogHostname sets HOSTNAME (default: the machine's host name).
func WithSyslogHostname(name string) SyslogOption { return func(s *Syslog) { s.hostname = name } }

// WithSyslogTimeouts sets how long a connection attempt and the writing of one batch may
// take (defaults 10 s and 30 s).
func WithSyslogTimeouts(dial, write time.Duration) SyslogOption {
	return func(s *Syslog) { s.dialTimeout, s.writeTimeout = dial, write }
}

// WithSyslogRewindWindow sets how many of the last bytes written on a connection are
// resent after it breaks (default 16 MiB). The last batch written is always resent.
func WithSyslogRewindWindow(bytes int64) SyslogOption {
	return func(s *Syslog) { s.rewindWindow = bytes }
}

// NewSyslog returns the sink for the receiver at addr (host:port). tlsConf holds the
// trusted roots and, when configured, the client certificate; nil means the system
// roots. Versions below TLS 1.2 are refused whatever tlsConf says. Nothing is dialled
// until the first Deliver.
func NewSyslog(addr string, tlsConf *tls.Config, opts ...SyslogOption) *Syslog {
	conf := &tls.Config{}
	if tlsConf != nil {
		conf = tlsConf.Clone()
	}
	if conf.MinVersion < tls.VersionTLS12 {
		conf.MinVersion = tls.VersionTLS12
	}
	host, err := os.Hostname()
	if err != nil {
		host = nilValue
	}
	s := &Syslog{addr: addr, tlsConf: conf, hostname: host, procID: strconv.Itoa(os.Getpid()),
		dialTimeout: 10 * time.Second, writeTimeout: 30 * time.Second, rewindWindow: 16 << 20}
	for _, o := range opts {
		o(s)
	}
	s.hostname = printable(s.hostname, 255)
	return s
}

// Name is the sink's label in metrics, cursors and the Integrity page.
func (s *Syslog) Name() string { return NameSyslog }

// Addr is where the sink sends, host:port.
func (s *Syslog) Addr() string { return s.addr }

// Deliver writes every line of b as one framed message on the current connection,
// dialling one first when there is none, and returns nil once all are written. An empty
// batch writes nothing and only reports a connection found broken since the last call,
// so an idle shipper can call it to learn of a lost tail.
//
// When the connection broke — the receiver closed it, a read or a write failed — the
// connection is closed and the error is a *RewindError: resend from its From. From is
// the first seq of the oldest batch that ended within the rewind window before the
// break, and never after the first seq of the last batch written on that connection
// (the batch b itself when its write failed part-way).
func (s *Syslog) Deliver(ctx context.Context, b Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkConn(); err != nil {
		return err
	}
	if len(b.Lines) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("auditsink: syslog deliver: %w", err)
	}
	s.buf = s.buf[:0]
	for _, line := range b.Lines {
		s.buf = s.appendFrame(s.buf, line)
	}
	if s.conn == nil {
		if err := s.dial(ctx); err != nil {
			return err
		}
	}
	return s.write(ctx, b.First)
}

// Close closes the connection, if any.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.close()
	s.conn = nil
	if err != nil {
		return fmt.Errorf("auditsink: syslog close: %w", err)
	}
	return nil
}

// checkConn drops a connection its reader found closed; the error is a *RewindError
// when batches were written on it.
func (s *Syslog) checkConn() error {
	if s.conn == nil {
		return nil
	}
	select {
	case <-s.conn.done:
	default:
		return nil
	}
	cause := s.conn.readErr
	if errors.Is(cause, io.EOF) {
		cause = fmt.Errorf("the receiver closed the connection: %w", cause)
	}
	return s.fail(cause)
}

// fail closes the current connection and returns what the shipper must resend, or nil
// when nothing was written on it.
func (s *Syslog) fail(cause error) error {
	c := s.conn
	s.conn = nil
	_ = c.close()
	if len(c.marks) == 0 {
		return nil
	}
	return &RewindError{From: c.marks[0].first, Err: fmt.Errorf("syslog %s: %w", s.addr, cause)}
}

// dial connects and starts the reader that notices the receiver closing.
func (s *Syslog) dial(ctx context.Context) error {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: s.dialTimeout}, Config: s.tlsConf}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("auditsink: syslog: connect to %s: %w", s.addr, err)
	}
	c := &syslogConn{tls: conn.(*tls.Conn), done: make(chan struct{})}
	go c.read()
	s.conn = c
	return nil
}

// write sends s.buf, the frames of the batch starting at first, on the connection.
func (s *Syslog) write(ctx context.Context, first int64) error {
	c := s.conn
	c.marks = append(c.marks, batchMark{first: first, end: c.written + int64(len(s.buf))})
	deadline := time.Now().Add(s.writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.tls.SetWriteDeadline(deadline); err != nil {
		return s.fail(fmt.Errorf("set write deadline: %w", err))
	}
	// A cancelled ctx cuts the write short; the connection is then mid-frame and dropped.
	stop := context.AfterFunc(ctx, func() { _ = c.tls.SetWriteDeadline(time.Unix(1, 0)) })
	_, err := c.tls.Write(s.buf)
	stop()
	c.written = c.marks[len(c.marks)-1].end
	c.prune(s.rewindWindow)
	if err != nil {
		return s.fail(c.writeFailed(err))
	}
	return nil
}

// syslogConn is one TLS connection and the batches written on it.
type syslogConn struct {
	tls  *tls.Conn
	done chan struct{} // closed when read returns; readErr is set before
	// readErr is why the reader stopped: io.EOF when the receiver closed the connection.
	readErr error
	written int64 // bytes of frames written
	// marks are the batches written that may not have reached the receiver, oldest first.
	marks []batchMark
}

// writeFailed is the cause of a failed write. The receiver's reason — a TLS alert such
// as "certificate required" — usually waits unread behind the reset that failed the write,
// so the reader is given a second to pick it up.
func (c *syslogConn) writeFailed(err error) error {
	_ = c.tls.SetReadDeadline(time.Now().Add(time.Second))
	<-c.done
	var ne net.Error
	if errors.As(c.readErr, &ne) && ne.Timeout() || errors.Is(c.readErr, io.EOF) {
		return fmt.Errorf("write: %w", err)
	}
	return fmt.Errorf("write: %w (the receiver: %v)", err, c.readErr)
}

// batchMark is a batch written on a connection: its first seq and the byte offset of
// its end.
type batchMark struct{ first, end int64 }

// read waits for the receiver to close the connection; receivers send nothing, so any
// return of Read is the end of the connection. A written batch only reached the
// sockets' buffers — both ends' can hold megabytes — hence the rewind window.
func (c *syslogConn) read() {
	buf := make([]byte, 512)
	for {
		if _, err := c.tls.Read(buf); err != nil {
			c.readErr = err
			close(c.done)
			return
		}
	}
}

// prune forgets batches that ended more than window bytes before the end of the stream,
// keeping the last one.
func (c *syslogConn) prune(window int64) {
	n := 0
	for n < len(c.marks)-1 && c.marks[n].end <= c.written-window {
		n++
	}
	c.marks = c.marks[n:]
}

// close closes the connection and waits for the reader to stop.
func (c *syslogConn) close() error {
	err := c.tls.Close()
	<-c.done
	return err
}

// syslogFields are the fields of an NDJSON export line the header and structured data
// carry.
type syslogFields struct {
	Seq      int64  `json:"seq"`
	Time     string `json:"time"`
	Action   string `json:"action"`
	Outcome  string `json:"outcome"`
	PrevHash string `json:"prevHash"`
	Hash     string `json:"hash"`
}

// appendFrame appends line as one octet-counted message: MSG-LEN SP SYSLOG-MSG.
func (s *Syslog) appendFrame(dst, line []byte) []byte {
	s.msg = s.appendMessage(s.msg[:0], line)
	dst = strconv.AppendInt(dst, int64(len(s.msg)), 10)
	dst = append(dst, ' ')
	return append(dst, s.msg...)
}

// appendMessage appends the RFC 5424 message of one NDJSON line. A line that is not an
// export record still goes out, with nil values in the header, rather than stall the
// stream; a line that is not UTF-8 goes without the BOM, as MSG-ANY.
func (s *Syslog) appendMessage(dst, line []byte) []byte {
	var f syslogFields
	parsed := json.Unmarshal(line, &f) == nil
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, facilityLogAudit*8+int64(severityOf(f.Outcome)), 10)
	dst = append(dst, ">1 "...)
	dst = append(dst, timestamp(f.Time)...)
	dst = append(dst, ' ')
	dst = append(dst, s.hostname...)
	dst = append(dst, " "+syslogAppName+" "...)
	dst = append(dst, s.procID...)
	dst = append(dst, ' ')
	dst = append(dst, printable(f.Action, 32)...)
	dst = append(dst, ' ')
	if parsed {
		dst = appendSD(dst, f)
	} else {
		dst = append(dst, nilValue...)
	}
	dst = append(dst, ' ')
	if utf8.Valid(line) {
		dst = append(dst, utf8BOM...)
	}
	return append(dst, line...)
}

// appendSD appends [audit@32473 seq="…" prevHash="…" hash="…" outcome="…"].
func appendSD(dst []byte, f syslogFields) []byte {
	dst = append(dst, "["+syslogSDID+` seq="`...)
	dst = strconv.AppendInt(dst, f.Seq, 10)
	for _, p := range [...]struct{ name, value string }{
		{"prevHash", f.PrevHash}, {"hash", f.Hash}, {"outcome", f.Outcome},
	} {
		dst = append(dst, `" `+p.name+`="`...)
		dst = appendSDValue(dst, p.value)
	}
	return append(dst, `"]`...)
}

// appendSDValue appends v with '"', '\' and ']' escaped (RFC 5424 §6.3.3); the value is
// made valid UTF-8 first, as PARAM-VALUE must be.
func appendSDValue(dst []byte, v string) []byte {
	for _, r := range v {
		switch r {
		case '"', '\\', ']':
			dst = append(dst, '\\', byte(r))
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// severityOf maps an outcome to a severity: what failed, was denied or ended unknown is
// a warning, what was done a notice, an intent (pending) informational.
func severityOf(outcome string) int {
	switch outcome {
	case "failed", "denied", "unknown":
		return severityWarning
	case "pending":
		return severityInfo
	}
	return severityNotice
}

// timestamp is the event's time as an RFC 5424 TIMESTAMP (UTC, microseconds), or the
// nil value when the line has none.
func timestamp(v string) string {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nilValue
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// printable keeps the PRINTUSASCII bytes of v (33–126), at most max of them; empty is
// the nil value.
func printable(v string, max int) string {
	b := make([]byte, 0, min(len(v), max))
	for i := 0; i < len(v) && len(b) < max; i++ {
		if v[i] >= 33 && v[i] <= 126 {
			b = append(b, v[i])
		}
	}
	if len(b) == 0 {
		return nilValue
	}
	return string(b)
}
