package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
)

// handleAuditExport streams exactly the filtered view, all pages. The export is an
// intent before the first byte and an outcome with the row count after the last.
func (h *Handler) handleAuditExport(format audit.Format) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		typed, filter, errs := parseAuditFilter(c.QueryParams())
		if len(errs) > 0 {
			msgs := make([]string, 0, len(errs))
			for _, m := range errs {
				msgs = append(msgs, m)
			}
			return userError(http.StatusUnprocessableEntity, "Filter not valid", "Nothing was exported. "+strings.Join(msgs, " "))
		}
		// The export covers the log as it is now; events appended while it streams
		// (its own among them) are left out, so the same filter and bound reproduce it.
		through, _, err := h.Audit.Head(ctx)
		if err != nil {
			return err
		}
		now := h.Now().UTC()
		intent := h.event(c, audit.ActionAuditExport, audit.Target{Type: "audit_log"})
		intent.Detail = audit.DetailJSON(map[string]any{"filter": filterDetail(typed), "format": format, "throughSeq": through})
		var rows int64
		_, err = h.perform(c, audit.Operation{Intent: intent,
			Call: func(context.Context) error {
				hd := c.Response().Header()
				hd.Set(echo.HeaderContentType, format.ContentType())
				hd.Set(echo.HeaderContentDisposition, `attachment; filename="`+exportFileName(filter, now, format)+`"`)
				c.Response().WriteHeader(http.StatusOK)
				// The stream goes to this browser: it ends when the browser goes away.
				var err error
				rows, err = h.Audit.Export(ctx, filter, through, format, c.Response())
				return err
			},
			Record: func(e *audit.Event, err error) {
				d := map[string]any{"rows": rows}
				if err != nil {
					d["error"] = err.Error()
				}
				e.Detail = audit.DetailJSON(d)
			}})
		if errors.Is(err, errAuditUnavailable) {
			return err
		}
		if err != nil {
			// The status is sent: the client sees a cut file, the log says why.
			h.Logger.Error("audit export", "err", err, "rows", rows, "request_id", requestID(c))
		}
		return nil
	}
}

// exportFileName carries the time range: audit-<from>_<to>.<ext>, "start" for an open
// beginning and the export time for an open end.
func exportFileName(f audit.Filter, now time.Time, format audit.Format) string {
	const layout = "2006-01-02T15-04Z"
	from, to := "start", now.Format(layout)
	if !f.From.IsZero() {
		from = f.From.UTC().Format(layout)
	}
	if !f.To.IsZero() {
		to = f.To.UTC().Format(layout)
	}
	return "audit-" + from + "_" + to + "." + string(format)
}
