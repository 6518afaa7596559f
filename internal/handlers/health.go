package handlers

import (
	"context"
	"crypto/subtle"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/web/static"
)

func (h *Handler) handleHealthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

func (h *Handler) handleReadyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := h.Database.Ping(ctx); err != nil {
		return c.String(http.StatusServiceUnavailable, "database unreachable\n")
	}
	// Synerise being down does not make this replica unready: another replica would
	// fare no better. The breaker state is reported for the operator to see.
	breaker := "unknown"
	if h.BreakerState != nil {
		breaker = h.BreakerState()
	}
	return c.String(http.StatusOK, "ready\ndatabase: ok\nsynerise circuit: "+breaker+"\n")
}

// handleMetrics serves Prometheus metrics to a caller with the bearer token. Without a
// token configured here (none, or metrics on their own listener) it is simply not found.
func (h *Handler) handleMetrics(c echo.Context) error {
	if h.Metrics == nil || h.MetricsToken == "" {
		return errNotFound
	}
	got := strings.TrimPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
	if subtle.ConstantTimeCompare([]byte(got), []byte(h.MetricsToken)) != 1 {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		return c.String(http.StatusUnauthorized, "unauthorized\n")
	}
	h.Metrics.Handler().ServeHTTP(c.Response(), c.Request())
	return nil
}

func (h *Handler) handleStatic(c echo.Context) error {
	name := c.Param("*")
	data, err := static.FS.ReadFile(name)
	if err != nil {
		return errNotFound
	}
	// Only a file that exists may be cached; everything else keeps securityHeaders' no-store.
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, mime.TypeByExtension(path.Ext(name)), data)
}
