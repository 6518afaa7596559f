package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
)

// With a signing key configured, an auditor sees the public key and the checkpoint signed
// at start-up, records one on demand, and downloads it; the file verifies offline against
// the log and the public key shown, and the on-demand checkpoint is itself audited.
func TestAuditorRecordsAndDownloadsASignedCheckpoint(t *testing.T) {
	keyPath := filepath.Join(t.TempDir(), "audit-signing-key.pem")
	signer, err := audit.GenerateKeyFile(keyPath)
	check(t, err)
	c := startConsoleWith(t, map[string]string{"CONSOLE_AUDIT_SIGNING_KEY": keyPath})
	auditor, _ := c.signIn(operators.RoleAuditor)

	check(t, auditor.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Audit log", Exact: playwright.Bool(true)}).First().Click())
	check(t, auditor.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Check the log's integrity"}).Click())
	expectVisible(t, heading(auditor, "Audit log integrity"))
	checkpoints := auditor.Locator("section").Filter(playwright.LocatorFilterOptions{Has: auditor.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Signed checkpoints"})})
	expectText(t, checkpoints, signer.PublicKeyBase64())
	rows := checkpoints.Locator("tbody tr")
	browsertest.Check(t, browsertest.Expect().Locator(rows).ToHaveCount(1), "the checkpoint signed at start-up")
	expectText(t, rows.First(), "Holds")

	check(t, button(auditor, "Record a checkpoint now").Click())
	expectText(t, auditor.GetByRole("status").First(), "Checkpoint recorded at seq")
	browsertest.Check(t, browsertest.Expect().Locator(rows).ToHaveCount(2), "start-up and on-demand checkpoints")
	browsertest.Screenshot(t, auditor, "checkpoint-recorded")
	checkA11y(t, auditor, "checkpoint-recorded")

	newest := rows.First()
	dl, err := auditor.ExpectDownload(func() error {
		return newest.GetByRole("link").Click()
	})
	check(t, err, "download the checkpoint")
	path, err := dl.Path()
	check(t, err)
	kept := filepath.Join(t.TempDir(), "checkpoint.json")
	raw, err := os.ReadFile(path)
	check(t, err)
	check(t, os.WriteFile(kept, raw, 0o600))
	cp, err := audit.ReadCheckpointFile(kept)
	check(t, err, "the downloaded file is a checkpoint")
	if !cp.SignatureValid() {
		t.Fatal("the downloaded checkpoint's signature does not verify")
	}
	if err := c.log.VerifyCheckpoint(context.Background(), cp, signer.PublicKey()); err != nil {
		t.Fatalf("the downloaded checkpoint does not hold against the log: %v", err)
	}

	recorded := c.events(audit.ActionAuditCheckpoint)
	if len(recorded) != 2 || recorded[0].Outcome != audit.OutcomePending || recorded[1].Outcome != audit.OutcomeSucceeded ||
		recorded[1].IntentSeq != recorded[0].Seq || recorded[0].Actor.Role != string(operators.RoleAuditor) {
		t.Fatalf("on-demand checkpoint audited as %+v", recorded)
	}
}
