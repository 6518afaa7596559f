package auditsink

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/raas-console/console/internal/dbtest"
)

// lossySink is a real webhook that behaves, on chosen calls, like a sink without
// acknowledgements whose connection broke: it sends nothing and asks to resend from the
// first seq of an earlier batch — during a batch, or on the empty batch of an idle poll.
type lossySink struct {
	*Webhook
	mu        sync.Mutex
	calls     int
	firsts    []int64 // first seq of every non-empty batch delivered
	loseAt    int     // the non-empty delivery that fails, rewinding two batches
	idleLost  bool    // whether the idle loss has happened
	idleAfter int64   // once idle at this seq or beyond, lose the last 10 events once
}

func (l *lossySink) Deliver(ctx context.Context, b Batch) error {
	l.mu.Lock()
	if len(b.Lines) == 0 {
		lose := !l.idleLost && b.First > l.idleAfter
		l.idleLost = l.idleLost || lose
		l.mu.Unlock()
		if lose {
			return &RewindError{From: b.First - 10, Err: errors.New("connection reset while idle")}
		}
		return nil
	}
	l.calls++
	if l.calls == l.loseAt {
		from := l.firsts[len(l.firsts)-2]
		l.mu.Unlock()
		return &RewindError{From: from, Err: errors.New("connection reset")}
	}
	l.firsts = append(l.firsts, b.First)
	l.mu.Unlock()
	return l.Webhook.Deliver(ctx, b)
}

func TestRewindResendsFromTheSeqTheSinkNames(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 300)
	rc := newHookReceiver(t, receiverHooks{})
	sink := &lossySink{Webhook: rc.webhook(t, WebhookOptions{}), loseAt: 4, idleAfter: 300}
	s := newShipper(t, pool, sink, fastOptions(nil))
	start(t, s)
	eventually(t, "the idle loss", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.idleLost
	})
	h := waitCaughtUp(t, pool, NameWebhook)
	rep := checkReceived(t, rc.received(), h)
	// Two batches of 50 sent again after the loss in a batch, 10 events after the idle one.
	if rep.Duplicates < 110 {
		t.Errorf("duplicates = %d, want at least 110", rep.Duplicates)
	}
}
