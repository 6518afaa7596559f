package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
)

// statusClientClosed is logged and counted for a request whose client went away before
// the answer was written (nginx's 499): no status ever reached anyone.
const statusClientClosed = 499

// accessLog writes one JSON line per request and counts it in the metrics, with the status
// the request really ended with: a client that gave up is 499, a request that ran out of
// time is 504, whatever the handler had put in the response it could not deliver. It logs
// the path without the query string, so search terms and filters never reach the log.
func (h *Handler) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req, res := c.Request(), c.Response()
		start := time.Now()
		w := &deliveryWriter{ResponseWriter: res.Writer}
		res.Writer = w
		err := next(c)
		if err != nil {
			// Handled here, once: the error funnel writes the page, the line below logs it.
			c.Error(err)
		}
		// The request's context now, not at the start: readBody may have detached it to
		// answer a slow client, who is then still there.
		status := deliveredStatus(c.Request().Context(), res, w.err)
		latency := time.Since(start)
		attrs := []slog.Attr{
			slog.String("method", req.Method), slog.String("path", c.Path()), slog.Int("status", status),
			slog.Duration("latency", latency), slog.String("request_id", requestID(c)), slog.String("ip", c.RealIP()),
		}
		if id := upstreamRequestID(c); id != "" {
			attrs = append(attrs, slog.String("upstream_request_id", id))
		}
		if op := currentOperator(c); op != nil {
			attrs = append(attrs, slog.Int64("operator_id", op.ID))
		}
		if h.Metrics != nil {
			h.Metrics.ObserveRequest(c.Path(), req.Method, status, latency)
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		h.Logger.LogAttrs(context.WithoutCancel(req.Context()), level, "request", attrs...)
		return nil
	}
}

// deliveredStatus is the status a request ended with: the response's, unless the client
// left (499) or time ran out (504) before it was delivered.
func deliveredStatus(ctx context.Context, res *echo.Response, writeErr error) int {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(writeErr, os.ErrDeadlineExceeded):
		return http.StatusGatewayTimeout
	case ctx.Err() != nil, writeErr != nil:
		return statusClientClosed
	case !res.Committed:
		// Nothing was written at all: the page could not even be rendered.
		return http.StatusInternalServerError
	}
	return res.Status
}

// deliveryWriter remembers the first write that failed: a client gone mid-answer or a
// write deadline passed, after the status was already sent.
type deliveryWriter struct {
	http.ResponseWriter
	err error
}

func (w *deliveryWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *deliveryWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
