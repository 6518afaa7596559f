package handlers

import (
	"context"
	"mime"
	"net/http"
	"path"
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
	if err := h.Pool.Ping(ctx); err != nil {
		return c.String(http.StatusServiceUnavailable, "database unreachable\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

func (h *Handler) handleStatic(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	name := c.Param("*")
	data, err := static.FS.ReadFile(name)
	if err != nil {
		return errNotFound
	}
	return c.Blob(http.StatusOK, mime.TypeByExtension(path.Ext(name)), data)
}
