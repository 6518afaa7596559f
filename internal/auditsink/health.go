package auditsink

import (
	"context"

	"github.com/raas-console/console/internal/audit"
)

// systemActor records what the console does on its own, as the server's other jobs do.
func systemActor() audit.Actor { return audit.Actor{Email: "console", Role: "system"} }

// failed counts a failed delivery, stores it as the sink's last error, and on the change
// from healthy to failing (FailAfter failures in a row) records audit.sink_failure —
// once, not at every retry, so a sink that is down for hours or drops a request now and
// then does not flood the log it is meant to carry.
func (s *Shipper) failed(ctx context.Context, run *sinkRun, err error) {
	name := run.sink.Name()
	s.metrics.errors.WithLabelValues(name).Inc()
	msg := err.Error() // sinks' errors name no secret and no URL query (see webhook.go)
	s.opts.Logger.Warn("audit stream: delivery failed", "sink", name, "from_seq", run.pos+1, "err", msg)
	run.inARow++
	if !run.failing && run.inARow >= s.opts.FailAfter {
		_, aerr := s.audit.Append(ctx, audit.Event{
			Actor: systemActor(), Action: audit.ActionAuditSinkFailure,
			Target:  audit.Target{Type: "audit_sink", ID: name, Label: name},
			Outcome: audit.OutcomeFailed,
			Detail:  audit.DetailJSON(map[string]any{"error": msg, "undeliveredFromSeq": run.pos + 1}),
		})
		if aerr != nil {
			s.opts.Logger.Error("audit stream: record sink failure", "sink", name, "err", aerr)
		} else {
			run.failing = true
		}
	}
	if err := s.cursors.failed(ctx, name, msg, run.failing); err != nil {
		s.opts.Logger.Error("audit stream: store sink failure", "sink", name, "err", err)
	}
}

// recordRecovery records audit.sink_recovered after a failing sink acknowledged a batch.
func (s *Shipper) recordRecovery(ctx context.Context, run *sinkRun) {
	name := run.sink.Name()
	_, err := s.audit.Append(ctx, audit.Event{
		Actor: systemActor(), Action: audit.ActionAuditSinkRecovered,
		Target:  audit.Target{Type: "audit_sink", ID: name, Label: name},
		Outcome: audit.OutcomeSucceeded,
		Detail:  audit.DetailJSON(map[string]any{"deliveredThroughSeq": run.pos}),
	})
	if err != nil {
		s.opts.Logger.Error("audit stream: record sink recovery", "sink", name, "err", err)
		return
	}
	run.failing = false
	if err := s.cursors.recovered(ctx, name); err != nil {
		s.opts.Logger.Error("audit stream: store sink recovery", "sink", name, "err", err)
	}
	s.opts.Logger.Info("audit stream: sink recovered", "sink", name, "through_seq", run.pos)
}
