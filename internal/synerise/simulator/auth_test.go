package simulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLogin(t *testing.T) {
	h := newHarness(t, Options{APIKeys: []string{DefaultAPIKey, "second-key"}})
	tests := []struct {
		name        string
		body        string
		contentType string
		want        int
	}{
		{"good key", `{"apiKey":"` + DefaultAPIKey + `"}`, "application/json", 200},
		{"second key", `{"apiKey":"second-key"}`, "application/json; charset=utf-8", 200},
		{"bad key", `{"apiKey":"nope"}`, "application/json", 401},
		{"missing key", `{}`, "application/json", 400},
		{"key not a string", `{"apiKey":12}`, "application/json", 400},
		{"not json", `apiKey=x`, "application/json", 400},
		{"wrong content type", `{"apiKey":"` + DefaultAPIKey + `"}`, "text/plain", 400},
		{"no content type", `{"apiKey":"` + DefaultAPIKey + `"}`, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/uauth/v2/auth/login/profile", tt.body,
				map[string]string{"Authorization": "", "Content-Type": tt.contentType})
			wantStatus(t, r, tt.want)
			if tt.want == 200 {
				var out map[string]string
				r.decode(t, &out)
				checkJWT(t, out["token"], h.clock.Now(), time.Hour)
				return
			}
			var raw map[string]any
			r.decode(t, &raw)
			for _, k := range []string{"path", "timestamp", "errorCode", "status", "message", "traceId"} {
				if _, ok := raw[k]; !ok {
					t.Fatalf("IAM error shape lacks %q: %s", k, r.body)
				}
			}
			if _, ok := raw["errors"]; ok {
				t.Fatalf("IAM error carries profile-shape errors: %s", r.body)
			}
			if raw["path"] != "/uauth/v2/auth/login/profile" || int(raw["status"].(float64)) != tt.want {
				t.Fatalf("path/status wrong: %s", r.body)
			}
		})
	}
}

func checkJWT(t *testing.T, tok string, now time.Time, life time.Duration) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", tok)
	}
	head, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if !strings.Contains(string(head), `"HS256"`) {
		t.Fatalf("header %s", head)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Sub      string
		Iat, Exp int64
	}
	json.Unmarshal(payload, &c)
	if c.Sub == "" || c.Iat != now.Unix() || c.Exp != now.Add(life).Unix() {
		t.Fatalf("claims %s (now %d)", payload, now.Unix())
	}
}

func TestTokenExpiryAndRefresh(t *testing.T) {
	h := newHarness(t, Options{TokenLifetime: 2 * time.Minute})
	first := h.token
	wantStatus(t, h.get("/v4/clients?pageSize=1"), 200)

	h.clock.Advance(time.Minute)
	r := h.get("/v4/auth/refresh/profile")
	wantStatus(t, r, 200)
	var out map[string]string
	r.decode(t, &out)
	checkJWT(t, out["token"], h.clock.Now(), 2*time.Minute)
	if out["token"] == first {
		t.Fatal("refresh returned the same token")
	}

	h.clock.Advance(time.Minute) // first token now expired, refreshed one not
	r = h.get("/v4/clients?pageSize=1")
	wantStatus(t, r, 401)
	if e := r.profileErr(t); e.Error != "Token expired." {
		t.Fatalf("error %q, want Token expired.", e.Error)
	}
	r = h.get("/v4/auth/refresh/profile")
	wantStatus(t, r, 401)
	if e := r.profileErr(t); e.Error != "Token expired." {
		t.Fatalf("refresh with an expired token: %q", e.Error)
	}
	h.token = out["token"]
	wantStatus(t, h.get("/v4/clients?pageSize=1"), 200)
}

func TestAuthorizationRequired(t *testing.T) {
	h := newHarness(t, Options{})
	other := New(Options{Customers: 1}) // another simulator signs with another secret
	foreign := other.issueToken("x")
	tamper := h.token[:len(h.token)-2] + "xx"
	for name, auth := range map[string]string{
		"missing": "-", "not bearer": "Basic abc", "garbage": "Bearer abc.def.ghi",
		"foreign secret": "Bearer " + foreign, "tampered": "Bearer " + tamper, "empty bearer": "Bearer ",
	} {
		t.Run(name, func(t *testing.T) {
			hdr := map[string]string{"Authorization": auth}
			if auth == "-" {
				hdr["Authorization"] = ""
			}
			for _, path := range []string{"/v4/clients/4812300001", "/v4/clients", "/sauth/settings/general", "/v4/auth/refresh/profile"} {
				r := h.do(http.MethodGet, path, "", hdr)
				wantStatus(t, r, 401)
				if e := r.profileErr(t); e.Error == "Token expired." {
					t.Fatalf("%s: invalid token reported as expired", path)
				}
			}
		})
	}
}

func TestAdminNeedsNoToken(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.do(http.MethodGet, "/_simulator/settings", "", map[string]string{"Authorization": ""})
	wantStatus(t, r, 200)
}
