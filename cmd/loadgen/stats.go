package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"
)

// recorder collects the outcome of every request of one phase, per action.
type recorder struct {
	mu      sync.Mutex
	actions map[string]*actionStats
}

type actionStats struct {
	took   []time.Duration // successful requests only
	errors int
	codes  map[string]int // what the errors were: status codes or error kinds
}

func newRecorder() *recorder { return &recorder{actions: map[string]*actionStats{}} }

func (r *recorder) stats(action string) *actionStats {
	s := r.actions[action]
	if s == nil {
		s = &actionStats{codes: map[string]int{}}
		r.actions[action] = s
	}
	return s
}

// ok records a successful request.
func (r *recorder) ok(action string, took time.Duration) {
	r.mu.Lock()
	s := r.stats(action)
	s.took = append(s.took, took)
	r.mu.Unlock()
}

// fail records a failed request and why.
func (r *recorder) fail(action, why string) {
	r.mu.Lock()
	s := r.stats(action)
	s.errors++
	s.codes[why]++
	r.mu.Unlock()
}

// summary is one action's result.
type summary struct {
	Action        string
	OK, Errors    int
	RPS           float64
	P50, P95, P99 time.Duration
	Max           time.Duration
	Why           map[string]int
}

func (r *recorder) summaries(elapsed time.Duration) []summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []summary
	for name, s := range r.actions {
		d := slices.Clone(s.took)
		slices.Sort(d)
		sm := summary{Action: name, OK: len(d), Errors: s.errors, Why: s.codes,
			RPS: float64(len(d)) / elapsed.Seconds()}
		if len(d) > 0 {
			sm.P50, sm.P95, sm.P99, sm.Max = pct(d, 50), pct(d, 95), pct(d, 99), d[len(d)-1]
		}
		out = append(out, sm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Action < out[j].Action })
	return out
}

func (r *recorder) summary(action string, elapsed time.Duration) summary {
	for _, s := range r.summaries(elapsed) {
		if s.Action == action {
			return s
		}
	}
	return summary{Action: action}
}

// pct is the p-th percentile of sorted d (nearest rank).
func pct(d []time.Duration, p int) time.Duration {
	i := (len(d)*p + 99) / 100
	return d[min(max(i-1, 0), len(d)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func printTable(w io.Writer, rows []summary) {
	fmt.Fprintln(w, "| action | ok | errors | ok/s | p50 ms | p95 ms | p99 ms | max ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range rows {
		errs := fmt.Sprint(s.Errors)
		if s.Errors > 0 {
			errs += fmt.Sprintf(" %v", s.Why)
		}
		fmt.Fprintf(w, "| %s | %d | %s | %.1f | %s | %s | %s | %s |\n",
			s.Action, s.OK, errs, s.RPS, ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max))
	}
}
