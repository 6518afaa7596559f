package synerise

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary bodies to every response decoder: profile, profile list,
// settings (whose re-encoding must keep every key and value) and both error shapes.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(annJSON))
	f.Add([]byte(settingsJSON))
	f.Add([]byte(`{"error":"Bad Request","status":400,"errors":[{"code":1,"field":"phone","message":"m","rejectedValue":[1]}]}`))
	f.Add([]byte(`{"path":"/uauth","errorCode":"X","status":401,"message":"m","traceId":"t"}`))
	f.Add([]byte(`<html>oops</html>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Profile
		if json.Unmarshal(data, &p) == nil {
			p.EmailConfirmed()
			p.LastActivity()
		}
		var ps []Profile
		_ = json.Unmarshal(data, &ps)

		var s Settings
		if err := s.UnmarshalJSON(data); err == nil {
			out, err := s.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var again Settings
			if err := again.UnmarshalJSON(out); err != nil {
				t.Fatalf("re-decoding %q: %v", out, err)
			}
			if strings.Join(again.Keys(), "\x00") != strings.Join(s.Keys(), "\x00") {
				t.Fatalf("keys changed: %q → %q", s.Keys(), again.Keys())
			}
			for _, k := range s.Keys() {
				a, _ := s.Raw(k)
				b, _ := again.Raw(k)
				if !bytes.Equal(a, b) {
					t.Fatalf("value of %q changed: %s → %s", k, a, b)
				}
			}
			if s.Fingerprint() != again.Fingerprint() {
				t.Fatal("fingerprint changed across a round trip")
			}
			s.RegistrationType()
			s.PinConfirmationLength()
			s.VoucherPoolUUID()
			s.AllowPinResendFromDifferentDeviceID()
		}

		req := httptest.NewRequest(http.MethodGet, "/v4/clients/1", nil)
		for _, status := range []int{400, 401, 429, 503} {
			resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {string(data)}}}
			err := newResponseError(req, resp, data, time.Unix(0, 0), []string{"SECRETKEY"})
			msg := err.Error()
			if msg == "" || strings.Contains(msg, "SECRETKEY") {
				t.Fatalf("Error() = %q", msg)
			}
		}
		for _, status := range []int{401, 403} {
			isTokenRejection(status, data)
		}
	})
}
