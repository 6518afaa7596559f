package simulator

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// MessageKind says what a message carried.
type MessageKind string

// The kinds of message Synerise sends for account actions.
const (
	KindPasswordReset MessageKind = "password_reset" // Secret is the reset token
	KindActivation    MessageKind = "activation"     // Secret is the activation token, Link the confirmation link
	KindPIN           MessageKind = "pin"            // Secret is the PIN, DeviceID the device it is bound to
)

// Message is one e-mail Synerise would have sent.
type Message struct {
	Kind     MessageKind `json:"kind"`
	Email    string      `json:"email"`
	ClientID int64       `json:"clientId"`
	Secret   string      `json:"secret"`
	Link     string      `json:"link,omitempty"`
	DeviceID string      `json:"deviceId,omitempty"`
	Time     time.Time   `json:"time"`
}

// outboxLimit bounds memory in long demo runs; the oldest messages go first.
const outboxLimit = 10000

type outbox struct {
	mu   sync.Mutex
	msgs []Message
}

func (o *outbox) add(m Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.msgs) >= outboxLimit {
		o.msgs = append(o.msgs[:0:0], o.msgs[len(o.msgs)-outboxLimit+1:]...)
	}
	o.msgs = append(o.msgs, m)
}

// Outbox returns every message sent so far, oldest first.
func (s *Simulator) Outbox() []Message {
	s.outbox.mu.Lock()
	defer s.outbox.mu.Unlock()
	return append([]Message(nil), s.outbox.msgs...)
}

// OutboxFor returns the messages sent to one e-mail address (case-insensitive), oldest first.
func (s *Simulator) OutboxFor(email string) []Message {
	s.outbox.mu.Lock()
	defer s.outbox.mu.Unlock()
	var out []Message
	for _, m := range s.outbox.msgs {
		if strings.EqualFold(m.Email, email) {
			out = append(out, m)
		}
	}
	return out
}

// LastMessage returns the newest message of a kind sent to an e-mail address.
func (s *Simulator) LastMessage(email string, kind MessageKind) (Message, bool) {
	msgs := s.OutboxFor(email)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Kind == kind {
			return msgs[i], true
		}
	}
	return Message{}, false
}

// ClearOutbox forgets every message.
func (s *Simulator) ClearOutbox() {
	s.outbox.mu.Lock()
	s.outbox.msgs = nil
	s.outbox.mu.Unlock()
}

// lockedRand is a seeded random source shared by goroutines.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed int64, salt uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(uint64(seed), salt))}
}

func (l *lockedRand) float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// hex returns n random bytes in hex.
func (l *lockedRand) hex(n int) string {
	b := make([]byte, n)
	l.mu.Lock()
	for i := range b {
		b[i] = byte(l.r.Uint32())
	}
	l.mu.Unlock()
	return hex.EncodeToString(b)
}

// digits returns n random decimal digits.
func (l *lockedRand) digits(n int) string {
	b := make([]byte, n)
	l.mu.Lock()
	for i := range b {
		b[i] = byte('0' + l.r.IntN(10))
	}
	l.mu.Unlock()
	return string(b)
}
