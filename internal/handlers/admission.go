package handlers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// admission bounds the requests the console works on at once. A request beyond the limit
// waits up to queueWait for a free slot and is then answered 503 with Retry-After, so an
// overload sheds work instead of piling up goroutines, buffers and database waits until
// memory runs out. Health probes, metrics and static files are never held back.
//
// Signed-in operators and everyone else draw from separate budgets: anonymous requests
// (sign-in attempts, mostly) get a smaller one of their own, so no number of them can take
// the slots operators work with.
type admission struct {
	slots     chan struct{}
	anonymous chan struct{}
	queueWait time.Duration
}

// anonymousShare is the part of the limit anonymous requests get, beside the operators'.
const anonymousShare = 4

func newAdmission(maxInFlight int, queueWait time.Duration) *admission {
	if maxInFlight <= 0 {
		return nil
	}
	return &admission{
		slots:     make(chan struct{}, maxInFlight),
		anonymous: make(chan struct{}, max(1, maxInFlight/anonymousShare)),
		queueWait: queueWait,
	}
}

// exempt reports whether a request skips admission.
func exempt(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/static/")
}

func (h *Handler) admit(next echo.HandlerFunc) echo.HandlerFunc {
	a := h.admission
	if a == nil {
		return next
	}
	return func(c echo.Context) error {
		if exempt(c.Request().URL.Path) {
			return next(c)
		}
		// Whether a sign-in stands behind the request is told by the cookie's signature
		// alone: no database work is done for a request that has no slot yet.
		slots := a.anonymous
		if h.Sessions.HasSignedCookie(c.Request()) {
			slots = a.slots
		}
		select {
		case slots <- struct{}{}:
		default:
			timer := time.NewTimer(a.queueWait)
			select {
			case slots <- struct{}{}:
				timer.Stop()
			case <-timer.C:
				return busy(c)
			case <-c.Request().Context().Done():
				timer.Stop()
				return busy(c)
			}
		}
		defer func() { <-slots }()
		return next(c)
	}
}

func busy(c echo.Context) error {
	c.Response().Header().Set("Retry-After", "1")
	return userError(http.StatusServiceUnavailable, "The console is busy",
		"Too many requests are being handled right now, so this one was not started. Nothing was done; try again in a moment.")
}

const (
	// bodyDeadline is how long a request may take to send its body once its headers are
	// in. Forms are a few kilobytes; only a client holding its body back needs longer.
	bodyDeadline = 5 * time.Second
	// maxBody is the largest body the console reads.
	maxBody = 1 << 20
)

// readBody reads the whole request body, at most maxBody, within bodyDeadline, before the
// request may take an admission slot: a client that announces a body and dribbles it (or
// never sends it) is answered 408 and its connection closed, without ever holding a slot
// while the console waits for it.
func (h *Handler) readBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			return next(c)
		}
		if r.ContentLength > maxBody {
			c.Response().Header().Set(echo.HeaderConnection, "close")
			return echo.ErrStatusRequestEntityTooLarge
		}
		rc := http.NewResponseController(c.Response())
		_ = rc.SetReadDeadline(time.Now().Add(bodyDeadline))
		data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil || len(data) > maxBody {
			// Whatever is left unread is not waited for: the connection closes after the answer.
			_ = rc.SetReadDeadline(time.Now())
		} else {
			// Lifting the deadline also lifts the server's ReadTimeout for this request, whose
			// body is in: past it, the server would take the idle connection for a gone client.
			_ = rc.SetReadDeadline(time.Time{})
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The server ends the request's context on a failed read; the client is still
			// there to be told, so the answer is written without it.
			c.SetRequest(r.WithContext(context.WithoutCancel(r.Context())))
			c.Response().Header().Set(echo.HeaderConnection, "close")
			return userError(http.StatusRequestTimeout, "Request too slow",
				"The form took too long to arrive, so it was not read. Nothing was done; try again.")
		case err != nil:
			c.Response().Header().Set(echo.HeaderConnection, "close")
			return echo.NewHTTPError(http.StatusBadRequest, "incomplete request body").SetInternal(err)
		case len(data) > maxBody:
			c.Response().Header().Set(echo.HeaderConnection, "close")
			return echo.ErrStatusRequestEntityTooLarge
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		return next(c)
	}
}
