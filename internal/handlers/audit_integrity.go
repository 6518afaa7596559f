package handlers

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/auditsink"
	"github.com/raas-console/console/web/templates"
)

func (h *Handler) handleAuditIntegrity(c echo.Context) error {
	ctx := c.Request().Context()
	report, err := h.Audit.Verify(ctx)
	if err != nil {
		return err
	}
	e := h.event(c, audit.ActionAuditVerify, audit.Target{Type: "audit_log"})
	e.Outcome = audit.OutcomeSucceeded
	d := map[string]any{"rowsChecked": report.RowsChecked, "headSeq": report.HeadSeq,
		"headHash": hex.EncodeToString(report.HeadHash), "intact": report.Intact()}
	if report.First != nil {
		d["firstBreak"] = report.First.String()
	}
	e.Detail = audit.DetailJSON(d)
	if _, err := h.Audit.Append(ctx, e); err != nil {
		return errAuditUnavailable
	}
	v := templates.AuditIntegrity{
		RowsChecked: strconv.FormatInt(report.RowsChecked, 10), HeadSeq: strconv.FormatInt(report.HeadSeq, 10),
		HeadHash: hex.EncodeToString(report.HeadHash), Intact: report.Intact(),
		CheckedAt: h.Now().UTC().Format(auditTimeLayout), SigningOn: h.Signer != nil,
	}
	if b := report.First; b != nil {
		v.BreakSeq, v.Break, v.Breaks = strconv.FormatInt(b.Seq, 10), b.Problem, strconv.FormatInt(report.Breaks, 10)
		v.BreakURL = "/audit/" + v.BreakSeq
	}
	// The one-role setup: the console's own role could disable the triggers.
	if v.RewriteRisks, err = h.Audit.RewriteRisks(ctx); err != nil {
		return err
	}
	if h.Signer != nil {
		pub := h.Signer.PublicKey()
		v.PublicKeyBase64, v.PublicKeyHex = base64.StdEncoding.EncodeToString(pub), hex.EncodeToString(pub)
		cps, err := h.Audit.Checkpoints(ctx, 10)
		if err != nil {
			return err
		}
		for _, cp := range cps {
			row := templates.AuditCheckpoint{Seq: strconv.FormatInt(cp.Seq, 10), Hash: hex.EncodeToString(cp.Hash),
				Time: cp.Time.Format(auditTimeLayout), Holds: true, DownloadURL: "/audit/checkpoints/" + strconv.FormatInt(cp.ID, 10)}
			if err := h.Audit.VerifyCheckpoint(ctx, cp, nil); err != nil {
				if !errors.Is(err, audit.ErrCheckpointMismatch) {
					return err
				}
				row.Holds, row.Status = false, strings.TrimPrefix(err.Error(), audit.ErrCheckpointMismatch.Error()+": ")
			}
			v.Checkpoints = append(v.Checkpoints, row)
		}
	}
	// TODO(integration): pass h.AuditStream once Deps has the field.
	stream, err := auditStreamView(ctx, h.AuditStream)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.AuditIntegrityPage(h.page(c, "Audit log integrity"), v, stream))
}

// auditStreamStatus is what the Integrity page reads of the audit stream
// (*auditsink.Shipper): each configured sink's position, lag and last error, which
// replica ships, and where each sink sends.
type auditStreamStatus interface {
	Status(ctx context.Context) (auditsink.Status, error)
	// Where is the receiver of the named sink as it may be shown: the webhook URL's host,
	// the syslog address; never a secret.
	Where(sink string) string
}

// auditStreamView is the stream's section of the Integrity page; src nil means no
// stream is configured.
func auditStreamView(ctx context.Context, src auditStreamStatus) (templates.AuditStream, error) {
	var v templates.AuditStream
	if src == nil {
		return v, nil
	}
	st, err := src.Status(ctx)
	if err != nil {
		return v, fmt.Errorf("handlers: audit stream status: %w", err)
	}
	v.Configured = len(st.Sinks) > 0
	switch {
	case st.ShippingHere:
		v.Shipping = "here"
	case st.ShippingAnywhere:
		v.Shipping = "elsewhere"
	default:
		v.Shipping = "nowhere"
	}
	for _, s := range st.Sinks {
		row := templates.AuditStreamSink{Name: s.Name, Where: src.Where(s.Name), DeliveredThrough: "none yet",
			LagEvents: strconv.FormatInt(s.LagEvents, 10), LagSeconds: strconv.FormatFloat(s.LagSeconds, 'f', 1, 64),
			Failing: s.Failing, LastError: s.LastError}
		if s.Seq > 0 {
			row.DeliveredThrough = "seq " + strconv.FormatInt(s.Seq, 10)
		}
		if !s.LastErrorAt.IsZero() {
			row.LastErrorAt = s.LastErrorAt.UTC().Format(auditTimeLayout)
		}
		v.Sinks = append(v.Sinks, row)
	}
	return v, nil
}

func (h *Handler) handleAuditCheckpoint(c echo.Context) error {
	if h.Signer == nil {
		return h.redirectWithFlash(c, "/audit/integrity", "error",
			"Checkpoints are off: no signing key is configured (CONSOLE_AUDIT_SIGNING_KEY). Nothing was recorded.")
	}
	var cp audit.Checkpoint
	_, err := h.perform(c, audit.Operation{Intent: h.event(c, audit.ActionAuditCheckpoint, audit.Target{Type: "audit_checkpoint"}),
		Call: func(ctx context.Context) (err error) {
			cp, err = h.Audit.Checkpoint(ctx, h.Signer)
			return err
		},
		Record: func(e *audit.Event, err error) {
			if err != nil {
				e.Detail = audit.DetailJSON(map[string]string{"error": err.Error()})
				return
			}
			e.Detail = audit.DetailJSON(map[string]any{"checkpointId": cp.ID, "seq": cp.Seq, "hash": hex.EncodeToString(cp.Hash)})
		}})
	if err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/audit/integrity", "success",
		fmt.Sprintf("Checkpoint recorded at seq %d. Download it and keep it outside the console.", cp.Seq))
}

// handleAuditCheckpointFile downloads one checkpoint in the offline file format.
func (h *Handler) handleAuditCheckpointFile(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return errNotFound
	}
	cp, err := h.Audit.GetCheckpoint(ctx, id)
	if errors.Is(err, audit.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	e := h.event(c, audit.ActionAuditView, audit.Target{Type: "audit_checkpoint", ID: strconv.FormatInt(id, 10)})
	e.Outcome = audit.OutcomeSucceeded
	if _, err := h.Audit.Append(ctx, e); err != nil {
		return errAuditUnavailable
	}
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="audit-checkpoint-%d.json"`, cp.Seq))
	return c.Blob(http.StatusOK, "application/json", append(b, '\n'))
}
