package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise"
)

// stalledProfiles holds every profile read until release is closed.
type stalledProfiles struct {
	profilesAPI
	entered chan struct{}
	release chan struct{}
}

func (s *stalledProfiles) Get(ctx context.Context, id int64) (*synerise.Profile, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.profilesAPI.Get(ctx, id)
}

// With every slot taken, a further request waits its turn briefly and is then refused with
// 503 and Retry-After, before anything is done; probes still answer; once the slot frees,
// requests are served again.
func TestRequestsBeyondTheInFlightLimitAreShed(t *testing.T) {
	stall := &stalledProfiles{entered: make(chan struct{}, 1), release: make(chan struct{})}
	e := newEnv(t, func(d *handlers.Deps) {
		stall.profilesAPI = d.Profiles
		d.Profiles = stall
		d.MaxInFlight, d.QueueWait = 1, 100*time.Millisecond
	})
	var once sync.Once
	release := func() { once.Do(func() { close(stall.release) }) }
	t.Cleanup(release) // a failing test must not leave the held request blocking the server's Close
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID

	// Counted before the first view starts: its record is written while Synerise is asked,
	// so it may or may not be there yet once the view holds the slot.
	views := countViews(e)
	first := make(chan int, 1)
	go func() {
		res, err := b.client.Get(e.srv.URL + path)
		if err != nil {
			first <- 0
			return
		}
		res.Body.Close()
		first <- res.StatusCode
	}()
	<-stall.entered // the first view holds the only slot

	res := b.get("/")
	page := body(res)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "1" ||
		!strings.Contains(page, "The console is busy") || !strings.Contains(page, "Nothing was done") {
		t.Fatalf("request beyond the limit: %d Retry-After %q\n%s", res.StatusCode, res.Header.Get("Retry-After"), page)
	}
	if res := b.get("/healthz"); res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz while busy: %d", res.StatusCode)
	}

	release()
	if code := <-first; code != http.StatusOK {
		t.Fatalf("the view holding the slot: %d", code)
	}
	if got := countViews(e); got != views+1 {
		t.Fatalf("%d customer views audited after the held one finished, want %d", got, views+1)
	}
	stall.entered = make(chan struct{}, 8)
	if res := b.get(path); res.StatusCode != http.StatusOK {
		t.Fatalf("after the slot freed: %d", res.StatusCode)
	}
}
