package auditsink

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
)

// --- a private PKI -------------------------------------------------------------------

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return testCA{cert: cert, key: key, pool: pool}
}

// issue makes a leaf certificate for 127.0.0.1 (server) or a client named cn.
func (ca testCA) issue(t testing.TB, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// --- a TLS syslog receiver -----------------------------------------------------------

// received is one message as the receiver parsed it.
type received struct {
	conn int // which connection, in order of acceptance
	msg  syslogMessage
}

// receiver is an RFC 5425 listener: it reads octet-counted frames and parses each
// message strictly.
type receiver struct {
	ln   net.Listener
	conf *tls.Config
	// killAfter, when set, resets the first connection after that many messages, with
	// whatever the client sent after them still unread.
	killAfter int
	// closeAfter, when set, closes the first connection cleanly after that many messages.
	closeAfter int
	// count, when set, only counts the frames (benchmarks).
	count  bool
	frames int64

	mu        sync.Mutex
	msgs      []received
	errs      []error
	peers     []string // client certificate names, per connection
	handshake chan error
	killed    chan struct{} // closed when killAfter struck
	conns     sync.WaitGroup
	accepted  int
}

func newReceiver(t testing.TB, ca testCA, configure func(*receiver)) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{ln: ln, handshake: make(chan error, 16), killed: make(chan struct{}),
		conf: &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "receiver", true)}, MinVersion: tls.VersionTLS12}}
	if configure != nil {
		configure(r)
	}
	var accepting sync.WaitGroup
	accepting.Add(1)
	go func() { defer accepting.Done(); r.accept() }()
	t.Cleanup(func() { _ = ln.Close(); accepting.Wait(); r.conns.Wait() })
	return r
}

func (r *receiver) addr() string { return r.ln.Addr().String() }

func (r *receiver) accept() {
	for {
		raw, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		n := r.accepted
		r.accepted++
		r.mu.Unlock()
		// A small, fixed receive buffer (no autotuning), so a large batch cannot vanish
		// into it and a write to a reset connection is bound to fail.
		_ = raw.(*net.TCPConn).SetReadBuffer(64 << 10)
		r.conns.Add(1)
		go func() { defer r.conns.Done(); r.serve(n, raw.(*net.TCPConn)) }()
	}
}

func (r *receiver) serve(n int, raw *net.TCPConn) {
	defer raw.Close()
	conn := tls.Server(raw, r.conf)
	if err := conn.Handshake(); err != nil {
		r.handshake <- err
		return
	}
	r.handshake <- nil
	r.mu.Lock()
	if certs := conn.ConnectionState().PeerCertificates; len(certs) > 0 {
		r.peers = append(r.peers, certs[0].Subject.CommonName)
	}
	r.mu.Unlock()
	br := bufio.NewReader(conn)
	for count := 1; ; count++ {
		frame, err := readFrame(br)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.fail(fmt.Errorf("connection %d: %w", n, err))
			}
			return
		}
		if r.count {
			r.mu.Lock()
			r.frames++
			r.mu.Unlock()
			continue
		}
		msg, err := parseSyslogMessage(frame)
		r.mu.Lock()
		r.msgs = append(r.msgs, received{conn: n, msg: msg})
		r.mu.Unlock()
		if err != nil {
			r.fail(fmt.Errorf("connection %d, message %d: %w: %q", n, count, err, frame))
		}
		if n == 0 && count == r.killAfter {
			_ = raw.SetLinger(0) // close with RST, as a killed process's socket is
			close(r.killed)
			return
		}
		if n == 0 && count == r.closeAfter {
			_ = conn.Close()
			return
		}
	}
}

func (r *receiver) fail(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// received waits for every connection to end and returns what arrived.
func (r *receiver) received(t testing.TB) []received {
	t.Helper()
	r.conns.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs {
		t.Error(err)
	}
	return append([]received(nil), r.msgs...)
}

// readFrame reads MSG-LEN SP SYSLOG-MSG (RFC 5425 §4.3): MSG-LEN is NONZERO-DIGIT *DIGIT.
func readFrame(br *bufio.Reader) ([]byte, error) {
	head, err := br.ReadString(' ')
	if err != nil {
		if head == "" && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("frame length: %w (read %q)", err, head)
	}
	digits := strings.TrimSuffix(head, " ")
	if !msgLenRE.MatchString(digits) {
		return nil, fmt.Errorf("malformed MSG-LEN %q", digits)
	}
	n, _ := strconv.Atoi(digits)
	frame := make([]byte, n)
	if _, err := io.ReadFull(br, frame); err != nil {
		return nil, fmt.Errorf("frame of %d octets: %w", n, err)
	}
	return frame, nil
}

// syslogMessage is a parsed RFC 5424 message with one SD-ELEMENT.
type syslogMessage struct {
	pri                          int
	time                         time.Time
	host, app, procID, msgID, sd string
	params                       map[string]string
	line                         []byte
	seq                          int64
}

var (
	msgLenRE    = regexp.MustCompile(`^[1-9][0-9]{0,8}$`)
	headerRE    = regexp.MustCompile(`^<([0-9]{1,3})>1 (\S+) ([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) \[`)
	timestampRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$`)
	sdNameRE    = regexp.MustCompile(`^[!#-<>-\\^-~]{1,32}$`) // PRINTUSASCII except '=', ']', '"' and SP
)

// parseSyslogMessage parses msg strictly: header, one structured-data element with
// escaped values, BOM, one JSON line.
func parseSyslogMessage(msg []byte) (syslogMessage, error) {
	var m syslogMessage
	h := headerRE.FindSubmatch(msg)
	if h == nil {
		return m, errors.New("header is not <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [")
	}
	m.pri, _ = strconv.Atoi(string(h[1]))
	if m.pri > 191 {
		return m, fmt.Errorf("PRI %d out of range", m.pri)
	}
	if !timestampRE.Match(h[2]) {
		return m, fmt.Errorf("TIMESTAMP %q is not RFC 3339 as RFC 5424 allows it", h[2])
	}
	var err error
	if m.time, err = time.Parse(time.RFC3339Nano, string(h[2])); err != nil {
		return m, fmt.Errorf("TIMESTAMP: %w", err)
	}
	m.host, m.app, m.procID, m.msgID = string(h[3]), string(h[4]), string(h[5]), string(h[6])
	rest, err := m.parseSD(msg[len(h[0]):])
	if err != nil {
		return m, err
	}
	if !bytes.HasPrefix(rest, []byte(" \xEF\xBB\xBF")) {
		return m, errors.New("MSG does not start with SP BOM")
	}
	m.line = rest[4:]
	if !utf8.Valid(m.line) || !json.Valid(m.line) || bytes.ContainsRune(m.line, '\n') {
		return m, errors.New("MSG is not one UTF-8 JSON line")
	}
	m.seq, err = strconv.ParseInt(m.params["seq"], 10, 64)
	return m, err
}

// parseSD parses an SD-ELEMENT after its '[' and returns what follows its ']'.
func (m *syslogMessage) parseSD(b []byte) ([]byte, error) {
	end := bytes.IndexAny(b, " ]")
	if end < 0 || !sdNameRE.Match(b[:end]) {
		return nil, errors.New("malformed SD-ID")
	}
	m.sd, b, m.params = string(b[:end]), b[end:], map[string]string{}
	for len(b) > 0 && b[0] == ' ' {
		eq := bytes.Index(b, []byte(`="`))
		if eq < 0 || !sdNameRE.Match(b[1:eq]) {
			return nil, errors.New("malformed SD-PARAM name")
		}
		name := string(b[1:eq])
		value, n, err := unescapeSDValue(b[eq+2:])
		if err != nil {
			return nil, fmt.Errorf("SD-PARAM %s: %w", name, err)
		}
		m.params[name], b = value, b[eq+2+n:]
	}
	if len(b) == 0 || b[0] != ']' {
		return nil, errors.New("SD-ELEMENT not closed by ]")
	}
	return b[1:], nil
}

// unescapeSDValue reads a PARAM-VALUE up to its closing quote, which it consumes: '"',
// '\' and ']' must come escaped.
func unescapeSDValue(b []byte) (string, int, error) {
	var v []byte
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\\' && i+1 < len(b) && bytes.IndexByte([]byte(`"\]`), b[i+1]) >= 0:
			v, i = append(v, b[i+1]), i+1
		case c == '\\' || c == ']':
			return "", 0, fmt.Errorf("unescaped %q", c)
		case c == '"':
			return string(v), i + 1, nil
		default:
			v = append(v, c)
		}
	}
	return "", 0, errors.New("PARAM-VALUE not closed")
}

// --- events and a shipper ------------------------------------------------------------

var testActions = []audit.Action{audit.ActionCustomerView, audit.ActionSettingsUpdate, audit.ActionSignInFailed, audit.ActionAccessDenied}
var testOutcomes = []audit.Outcome{audit.OutcomeSucceeded, audit.OutcomePending, audit.OutcomeFailed, audit.OutcomeDenied, audit.OutcomeUnknown}

// testRecords makes n export records from seq 1, each carrying pad bytes of reason.
func testRecords(n, pad int) []audit.Record {
	base := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	recs := make([]audit.Record, n)
	prev := ""
	for i := range recs {
		seq := int64(i + 1)
		sum := sha256.Sum256([]byte(strconv.FormatInt(seq, 10)))
		recs[i] = audit.Record{Seq: seq, Time: base.Add(time.Duration(i) * 1500 * time.Microsecond).Format("2006-01-02T15:04:05.000000Z"),
			ActorEmail: "ops@example.com", ActorRole: "admin", Action: string(testActions[i%len(testActions)]),
			TargetType: "customer", TargetLabel: "Zażółć gęślą jaźń ]\"\\", Reason: strings.Repeat("r", pad),
			Outcome: string(testOutcomes[i%len(testOutcomes)]), Detail: json.RawMessage(`{}`),
			PrevHash: prev, Hash: hex.EncodeToString(sum[:])}
		prev = recs[i].Hash
	}
	return recs
}

func lines(t testing.TB, recs []audit.Record) [][]byte {
	t.Helper()
	out := make([][]byte, len(recs))
	for i, r := range recs {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		out[i] = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	return out
}

func batch(ls [][]byte, first, last int64) Batch {
	return Batch{First: first, Last: last, Lines: ls[first-1 : last]}
}

// ship delivers ls from seq from onwards in batches of size, resending from where each
// RewindError says, as the shipper does; it returns the rewinds it saw.
func ship(t testing.TB, s *Syslog, ls [][]byte, from int64, size int64) []int64 {
	t.Helper()
	var rewinds []int64
	for next := from; next <= int64(len(ls)); {
		last := min(next+size-1, int64(len(ls)))
		err := s.Deliver(context.Background(), batch(ls, next, last))
		var rw *RewindError
		switch {
		case errors.As(err, &rw):
			rewinds, next = append(rewinds, rw.From), rw.From
		case err != nil:
			t.Fatalf("deliver %d–%d: %v", next, last, err)
		default:
			next = last + 1
		}
	}
	return rewinds
}

// checkMessages checks every message against the record it carries: the header, the
// structured data and the exact line.
func checkMessages(t testing.TB, got []received, recs []audit.Record, ls [][]byte) {
	t.Helper()
	for _, g := range got {
		m := g.msg
		if m.seq < 1 || m.seq > int64(len(recs)) {
			t.Fatalf("message with seq %d", m.seq)
		}
		r := recs[m.seq-1]
		if want := 13*8 + severityOf(r.Outcome); m.pri != want {
			t.Errorf("seq %d (%s): PRI %d, want %d", r.Seq, r.Outcome, m.pri, want)
		}
		if m.time.Format("2006-01-02T15:04:05.000000Z") != r.Time || m.app != "raas-console" || m.msgID != r.Action || m.sd != "audit@32473" {
			t.Errorf("seq %d: header %v %q %q %q", r.Seq, m.time, m.app, m.msgID, m.sd)
		}
		want := map[string]string{"seq": strconv.FormatInt(r.Seq, 10), "prevHash": r.PrevHash, "hash": r.Hash, "outcome": r.Outcome}
		for k, v := range want {
			if m.params[k] != v {
				t.Errorf("seq %d: SD %s=%q, want %q", r.Seq, k, m.params[k], v)
			}
		}
		if !bytes.Equal(m.line, ls[m.seq-1]) {
			t.Errorf("seq %d: MSG differs from the NDJSON line", r.Seq)
		}
	}
}

// checkRuns checks that each connection received consecutive seqs and that together
// they cover 1..n with no gap; it returns each connection's first and last seq.
func checkRuns(t testing.TB, got []received, n int64) [][2]int64 {
	t.Helper()
	var runs [][2]int64
	seen := make([]bool, n+1)
	for i, g := range got {
		if i == 0 || g.conn != got[i-1].conn {
			runs = append(runs, [2]int64{g.msg.seq, g.msg.seq})
		} else if g.msg.seq != got[i-1].msg.seq+1 {
			t.Fatalf("connection %d: seq %d after %d", g.conn, g.msg.seq, got[i-1].msg.seq)
		}
		runs[len(runs)-1][1] = g.msg.seq
		seen[g.msg.seq] = true
	}
	for seq := int64(1); seq <= n; seq++ {
		if !seen[seq] {
			t.Fatalf("seq %d never arrived (runs %v)", seq, runs)
		}
	}
	return runs
}

// waitReaderDone waits until the sink's reader has seen its connection end.
func waitReaderDone(t testing.TB, s *Syslog) {
	t.Helper()
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		t.Fatal("no connection")
	}
	<-c.done
}

func clientConf(ca testCA, certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: ca.pool, Certificates: certs}
}

// --- tests -----------------------------------------------------------------------------

func TestSyslogDeliversFramedParseableMessages(t *testing.T) {
	ca := newTestCA(t, "test CA")
	r := newReceiver(t, ca, nil)
	recs := testRecords(120, 10)
	recs[7].Hash = `ab"c\d]e` // not hex, but it shows the escaping of every special character
	ls := lines(t, recs)
	s := NewSyslog(r.addr(), clientConf(ca), WithSyslogHostname("replica-1.example"))
	if s.Name() != "syslog" {
		t.Errorf("Name() = %q", s.Name())
	}
	if rewinds := ship(t, s, ls, 1, 50); len(rewinds) != 0 {
		t.Fatalf("rewinds %v on a healthy receiver", rewinds)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := r.received(t)
	if len(got) != len(ls) {
		t.Fatalf("received %d messages, want %d", len(got), len(ls))
	}
	checkMessages(t, got, recs, ls)
	checkRuns(t, got, int64(len(ls)))
	if got[0].msg.host != "replica-1.example" {
		t.Errorf("HOSTNAME %q", got[0].msg.host)
	}
	if got[7].msg.params["hash"] != `ab"c\d]e` {
		t.Errorf("escaped hash came back as %q", got[7].msg.params["hash"])
	}
}

// After the receiver closes a connection, the next Deliver says where to resend from:
// the last batch written on it (window 0) or everything within the window.
func TestSyslogRewindsAfterTheReceiverCloses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []SyslogOption
		wantFrom int64
	}{
		{"last batch only", []SyslogOption{WithSyslogRewindWindow(0)}, 101},
		{"default window", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := newTestCA(t, "test CA")
			r := newReceiver(t, ca, func(r *receiver) { r.closeAfter = 200 })
			recs := testRecords(300, 0)
			ls := lines(t, recs)
			s := NewSyslog(r.addr(), clientConf(ca), tc.opts...)
			defer s.Close()
			for _, b := range []Batch{batch(ls, 1, 100), batch(ls, 101, 200)} {
				if err := s.Deliver(context.Background(), b); err != nil {
					t.Fatalf("deliver %d–%d: %v", b.First, b.Last, err)
				}
			}
			waitReaderDone(t, s)
			err := s.Deliver(context.Background(), Batch{First: 201, Last: 200})
			var rw *RewindError
			if !errors.As(err, &rw) || rw.From != tc.wantFrom {
				t.Fatalf("Deliver after the receiver closed: %v, want a rewind from %d", err, tc.wantFrom)
			}
			if !strings.Contains(err.Error(), "the receiver closed the connection") {
				t.Errorf("error does not say why: %v", err)
			}
			ship(t, s, ls, rw.From, 100)
			_ = s.Close()
			got := r.received(t)
			checkMessages(t, got, recs, ls)
			if runs := checkRuns(t, got, 300); len(runs) != 2 || runs[1][0] != tc.wantFrom {
				t.Errorf("runs %v, want the second connection to start at %d", runs, tc.wantFrom)
			}
		})
	}
}

// The receiver dies while a batch larger than every socket buffer is being written:
// that Deliver fails with a rewind, and resending from there leaves no gap.
func TestSyslogReceiverKilledMidBatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []SyslogOption
		wantFrom int64
	}{
		{"last batch only", []SyslogOption{WithSyslogRewindWindow(0)}, 101},
		{"default window", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := newTestCA(t, "test CA")
			r := newReceiver(t, ca, func(r *receiver) { r.killAfter = 150 })
			recs := testRecords(100+2000, 4000) // the second batch is ~8 MB, more than both socket buffers
			ls := lines(t, recs)
			s := NewSyslog(r.addr(), clientConf(ca), tc.opts...)
			defer s.Close()
			if err := s.Deliver(context.Background(), batch(ls, 1, 100)); err != nil {
				t.Fatal(err)
			}
			err := s.Deliver(context.Background(), batch(ls, 101, 2100))
			var rw *RewindError
			if !errors.As(err, &rw) || rw.From != tc.wantFrom {
				t.Fatalf("Deliver while the receiver died: %v, want a rewind from %d", err, tc.wantFrom)
			}
			if rewinds := ship(t, s, ls, rw.From, 500); len(rewinds) != 0 {
				t.Fatalf("rewinds %v after reconnecting", rewinds)
			}
			_ = s.Close()
			got := r.received(t)
			checkMessages(t, got, recs, ls)
			runs := checkRuns(t, got, 2100)
			if len(runs) != 2 || runs[0] != [2]int64{1, 150} || runs[1] != [2]int64{tc.wantFrom, 2100} {
				t.Errorf("runs %v", runs)
			}
		})
	}
}

func TestSyslogClientCertificate(t *testing.T) {
	ca := newTestCA(t, "test CA")
	requireCert := func(r *receiver) {
		r.conf.ClientAuth, r.conf.ClientCAs = tls.RequireAndVerifyClientCert, ca.pool
	}
	ls := lines(t, testRecords(10, 0))

	t.Run("configured certificate", func(t *testing.T) {
		r := newReceiver(t, ca, requireCert)
		s := NewSyslog(r.addr(), clientConf(ca, ca.issue(t, "console-replica", false)))
		if err := s.Deliver(context.Background(), batch(ls, 1, 10)); err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		if got := r.received(t); len(got) != 10 {
			t.Fatalf("received %d messages, want 10", len(got))
		}
		if len(r.peers) != 1 || r.peers[0] != "console-replica" {
			t.Errorf("receiver saw client certificates %v", r.peers)
		}
	})

	t.Run("no certificate", func(t *testing.T) {
		r := newReceiver(t, ca, requireCert)
		s := NewSyslog(r.addr(), clientConf(ca))
		defer s.Close()
		// Under TLS 1.3 the client learns of the refusal only after its handshake, from
		// the receiver's alert: the first Deliver may still succeed.
		err := s.Deliver(context.Background(), batch(ls, 1, 10))
		if err == nil {
			if herr := <-r.handshake; herr == nil {
				t.Fatal("the receiver accepted a client without a certificate")
			}
			waitReaderDone(t, s)
			err = s.Deliver(context.Background(), batch(ls, 11, 10))
		}
		if err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Fatalf("Deliver without a client certificate: %v, want it to say a certificate is required", err)
		}
		if got := r.received(t); len(got) != 0 {
			t.Errorf("receiver got %d messages", len(got))
		}
	})
}

func TestSyslogWrongCA(t *testing.T) {
	r := newReceiver(t, newTestCA(t, "receiver's CA"), nil)
	s := NewSyslog(r.addr(), clientConf(newTestCA(t, "another CA")))
	defer s.Close()
	ls := lines(t, testRecords(3, 0))
	err := s.Deliver(context.Background(), batch(ls, 1, 3))
	var rw *RewindError
	if err == nil || errors.As(err, &rw) {
		t.Fatalf("Deliver to a receiver signed by another CA: %v", err)
	}
	for _, want := range []string{r.addr(), "certificate signed by unknown authority"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestSyslogRefusesOldTLS(t *testing.T) {
	ca := newTestCA(t, "test CA")
	r := newReceiver(t, ca, func(r *receiver) { r.conf.MinVersion, r.conf.MaxVersion = tls.VersionTLS11, tls.VersionTLS11 })
	conf := clientConf(ca)
	conf.MinVersion = tls.VersionTLS10
	s := NewSyslog(r.addr(), conf)
	defer s.Close()
	if err := s.Deliver(context.Background(), batch(lines(t, testRecords(1, 0)), 1, 1)); err == nil {
		t.Fatal("delivered over TLS 1.1")
	}
}

func TestSyslogHeaderValues(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`plain`, `plain`}, {`a"b`, `a\"b`}, {`a\b`, `a\\b`}, {`a]b`, `a\]b`}, {`[x]`, `[x\]`}, {"ż\"", "ż\\\""},
	} {
		if got := string(appendSDValue(nil, tc.in)); got != tc.want {
			t.Errorf("SD value %q escaped as %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"customer.view", 32, "customer.view"}, {"a b\tc\x00é", 32, "abc"}, {"", 32, "-"},
		{strings.Repeat("x", 40), 32, strings.Repeat("x", 32)},
	} {
		if got := printable(tc.in, tc.max); got != tc.want {
			t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for outcome, want := range map[string]int{"failed": 4, "denied": 4, "unknown": 4, "succeeded": 5, "pending": 6} {
		if got := severityOf(outcome); got != want {
			t.Errorf("severity of %s = %d, want %d", outcome, got, want)
		}
	}
	s := NewSyslog("127.0.0.1:1", nil, WithSyslogHostname("h"))
	msg := s.appendMessage(nil, []byte("not json \xff"))
	if m := string(msg); !strings.HasPrefix(m, "<109>1 - h raas-console ") || !strings.HasSuffix(m, " - - not json \xff") {
		t.Errorf("a line that is not a record went out as %q", m)
	}
}

// BenchmarkSyslogDeliver measures events per second through TLS to a receiver that
// reads the frames.
func BenchmarkSyslogDeliver(b *testing.B) {
	ca := newTestCA(b, "test CA")
	r := newReceiver(b, ca, func(r *receiver) { r.count = true })
	ls := lines(b, testRecords(500, 100))
	s := NewSyslog(r.addr(), clientConf(ca))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Deliver(context.Background(), batch(ls, 1, 500)); err != nil {
			b.Fatal(err)
		}
	}
	_ = s.Close()
	r.conns.Wait()
	b.StopTimer()
	if r.frames != int64(b.N*500) {
		b.Fatalf("receiver read %d frames, want %d", r.frames, b.N*500)
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSyslogEncode measures the framing of one batch of 500 events alone.
func BenchmarkSyslogEncode(b *testing.B) {
	ls := lines(b, testRecords(500, 100))
	s := NewSyslog("127.0.0.1:1", nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.buf = s.buf[:0]
		for _, l := range ls {
			s.buf = s.appendFrame(s.buf, l)
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "events/s")
}

// The real shipper streams the log through the syslog sink; the receiver dies mid-batch
// with events written after it unread; after the rewind the receiver's copy verifies:
// every event, once or more, in order.
func TestShipperOverSyslogReceiverKilledMidBatch(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 3000)
	ca := newTestCA(t, "test CA")
	r := newReceiver(t, ca, func(r *receiver) { r.killAfter = 700 })
	sink := NewSyslog(r.addr(), clientConf(ca, ca.issue(t, "console", false)))
	stop := start(t, newShipper(t, pool, sink, fastOptions(prometheus.NewRegistry())))
	<-r.killed
	// Everything may have been written before the reset arrived: wait until the sink
	// has seen its connection end (unless it already moved on to a new one), then give
	// the shipper something new to send, which reports the loss.
	sink.mu.Lock()
	c := sink.conn
	sink.mu.Unlock()
	r.mu.Lock()
	first := r.accepted == 1
	r.mu.Unlock()
	if c != nil && first {
		<-c.done
	}
	appendEvents(t, pool, 10)
	h := waitCaughtUp(t, pool, NameSyslog)
	stop()
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	got := r.received(t)
	var file bytes.Buffer
	for _, g := range got {
		checkHeaderAgainstLine(t, g.msg)
		file.Write(g.msg.line)
		file.WriteByte('\n')
	}
	rep, err := VerifyNDJSON(&file, false)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact() || rep.Last < h || rep.Events != rep.Last || rep.Duplicates == 0 {
		t.Fatalf("receiver's copy: %s (want every event through %d, some twice)", rep, h)
	}
	if runs := checkRuns(t, got, h); len(runs) < 2 || runs[0][1] != 700 {
		t.Errorf("connections received %v", runs)
	}
}

// checkHeaderAgainstLine checks a message's header and structured data against the
// NDJSON line it carries.
func checkHeaderAgainstLine(t testing.TB, m syslogMessage) {
	t.Helper()
	var f syslogFields
	if err := json.Unmarshal(m.line, &f); err != nil {
		t.Fatal(err)
	}
	if m.pri != 13*8+severityOf(f.Outcome) || m.msgID != printable(f.Action, 32) || m.seq != f.Seq ||
		m.params["hash"] != f.Hash || m.params["prevHash"] != f.PrevHash || m.time.Format("2006-01-02T15:04:05.000000Z") != f.Time {
		t.Errorf("seq %d: header <%d> %s %s %v does not match its line %s", m.seq, m.pri, m.time, m.msgID, m.params, m.line)
	}
}
