package auditsink

import (
	"context"
	"testing"

	"github.com/raas-console/console/internal/dbtest"
)

// BenchmarkCatchUp measures how fast a sink that was down catches up: 200,000 seeded
// events shipped from seq 1 to a real HTTPS receiver (which checks every signature), with
// the default batches of 500. Reported as events/s.
func BenchmarkCatchUp(b *testing.B) {
	const events = 200_000
	pool := dbtest.New(b)
	seed(b, pool, events)
	rc := newHookReceiver(b, receiverHooks{})
	rc.discard = true
	opts := Options{LockPoll: fastOptions(nil).LockPoll}
	for _, format := range []string{FormatNDJSON, FormatSplunkHEC} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				if _, err := pool.Exec(context.Background(), "DELETE FROM audit_sink_cursors"); err != nil {
					b.Fatal(err)
				}
				stop := start(b, newShipper(b, pool, rc.webhook(b, WebhookOptions{Format: format}), opts))
				eventually(b, "caught up", func() bool { return cursorOf(b, pool, NameWebhook) >= events })
				stop()
			}
			b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
