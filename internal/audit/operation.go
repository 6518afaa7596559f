package audit

import (
	"context"
	"errors"
	"fmt"
)

// ErrIntentNotWritten is returned by Perform when the intent could not be written: the
// call was not made, so nothing happened outside the console.
var ErrIntentNotWritten = errors.New("audit: intent not written, the call was not made")

// Recorder writes the two rows of an audited operation; *Store is one.
type Recorder interface {
	Intent(ctx context.Context, e Event) (Event, error)
	Outcome(ctx context.Context, intent Event, o Outcome, change func(*Event)) (Event, error)
}

// Operation is one change made outside the audit log, recorded before and after it.
type Operation struct {
	// Intent is written before the call (its Outcome is set to pending).
	Intent Event
	// Call makes the change. Its context carries the caller's values but not its
	// cancellation: once the intent is written the change is seen through and recorded,
	// even if whoever asked for it has gone.
	Call func(ctx context.Context) error
	// Classify says how the call ended. Nil means: no error succeeded, any error failed.
	// A caller whose call can end without an answer returns OutcomeUnknown for it.
	Classify func(err error) Outcome
	// Record amends the outcome row after the call (Detail, Before, After, UpstreamStatus,
	// UpstreamError, TraceID; see Store.Outcome). e.Outcome is already classified; err is
	// the call's error. Nil records a failed call's error as the Detail {"error": …} and
	// leaves a succeeded one as a copy of the intent.
	Record func(e *Event, err error)
}

// Result is what Perform reports of an operation whose intent was written.
type Result struct {
	Intent  Event   // the stored intent
	Outcome Outcome // how the call ended, as classified
	Event   Event   // the stored outcome row; zero when it could not be written
	// OutcomeErr is why the outcome row could not be written; nil when it was. The intent
	// then stays open until CloseStaleIntents closes it as unknown.
	OutcomeErr error
}

// Perform writes op's intent, makes op's call and writes its outcome, and returns the
// result and the call's error. If the intent cannot be written the call is not made and
// the error wraps ErrIntentNotWritten.
func Perform(ctx context.Context, log Recorder, op Operation) (Result, error) {
	intent, err := log.Intent(ctx, op.Intent)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrIntentNotWritten, err)
	}
	ctx = context.WithoutCancel(ctx)
	callErr := op.Call(ctx)
	classify := op.Classify
	if classify == nil {
		classify = failedOnError
	}
	r := Result{Intent: intent, Outcome: classify(callErr)}
	record := op.Record
	if record == nil {
		record = RecordError
	}
	r.Event, r.OutcomeErr = log.Outcome(ctx, intent, r.Outcome, func(e *Event) { record(e, callErr) })
	return r, callErr
}

// RecordError is the default Record: a failed call's error as the outcome's Detail, so
// the record says why.
func RecordError(e *Event, err error) {
	if err != nil {
		e.Detail = DetailJSON(map[string]string{"error": err.Error()})
	}
}

// failedOnError is the default classification: no error succeeded, any error failed.
func failedOnError(err error) Outcome {
	if err != nil {
		return OutcomeFailed
	}
	return OutcomeSucceeded
}
