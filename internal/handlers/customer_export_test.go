package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
)

func TestCustomerExportIsTheProfileAsSyneriseSentIt(t *testing.T) {
	e := newEnv(t)
	b, op := e.signedIn(operators.RoleSupport)
	page := body(b.get("/customers/" + annaID + "/export"))
	if !strings.Contains(page, `<label for="gdpr-reason">Reason</label>`) || !strings.Contains(page, "customer-"+annaID+".json") {
		t.Fatalf("export form: %s", page)
	}
	if !strings.Contains(body(b.get("/customers/"+annaID)), `href="/customers/`+annaID+`/export"`) {
		t.Error("the customer page offers no download")
	}
	res := b.post("/customers/"+annaID+"/export", url.Values{"reason": {"GDPR-15 access request"}})
	got, _ := io.ReadAll(res.Body)
	want, err := e.api.Profiles.GetRaw(context.Background(), 4812300001)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || string(got) != string(want) {
		t.Fatalf("%d: got %q\nwant %q", res.StatusCode, got, want)
	}
	h := res.Header
	if h.Get("Content-Disposition") != `attachment; filename="customer-`+annaID+`.json"` || h.Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("headers %v", h)
	}
	intent, outcome := e.intentAndOutcome(audit.ActionCustomerExport)
	sum := sha256.Sum256(want)
	if intent.Actor.OperatorID != op.ID || intent.Reason != "GDPR-15 access request" || intent.Target.ID != annaID ||
		outcome.Outcome != audit.OutcomeSucceeded || !strings.Contains(string(outcome.Detail), hex.EncodeToString(sum[:])) {
		t.Fatalf("audit %+v / %+v", intent, outcome)
	}
	if strings.Contains(string(outcome.Detail), "Kowalska") {
		t.Fatal("the audit record holds the exported data")
	}
}

func TestCustomerExportNeedsAReason(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	res := b.post("/customers/"+annaID+"/export", url.Values{"reason": {" "}})
	if page := body(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Give a reason") ||
		res.Header.Get("Content-Disposition") != "" {
		t.Fatalf("%d %v %s", res.StatusCode, res.Header, page)
	}
	if e.count(audit.ActionCustomerExport) != 0 {
		t.Fatal("a refused download was recorded as an export")
	}
	aud, _ := e.signedIn(operators.RoleAuditor)
	if res := aud.post("/customers/"+annaID+"/export", url.Values{"reason": {"curious"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("auditor: %d", res.StatusCode)
	}
}
