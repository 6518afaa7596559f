package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// admission bounds the requests the console works on at once. A request beyond the limit
// waits up to queueWait for a free slot and is then answered 503 with Retry-After, so an
// overload sheds work instead of piling up goroutines, buffers and database waits until
// memory runs out. Health probes, metrics and static files are never held back.
type admission struct {
	slots     chan struct{}
	queueWait time.Duration
}

func newAdmission(maxInFlight int, queueWait time.Duration) *admission {
	if maxInFlight <= 0 {
		return nil
	}
	return &admission{slots: make(chan struct{}, maxInFlight), queueWait: queueWait}
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
		select {
		case a.slots <- struct{}{}:
		default:
			timer := time.NewTimer(a.queueWait)
			select {
			case a.slots <- struct{}{}:
				timer.Stop()
			case <-timer.C:
				return busy(c)
			case <-c.Request().Context().Done():
				timer.Stop()
				return busy(c)
			}
		}
		defer func() { <-a.slots }()
		return next(c)
	}
}

func busy(c echo.Context) error {
	c.Response().Header().Set("Retry-After", "1")
	return userError(http.StatusServiceUnavailable, "The console is busy",
		"Too many requests are being handled right now, so this one was not started. Nothing was done; try again in a moment.")
}
