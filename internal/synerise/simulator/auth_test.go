package simulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

func TestRevokeTokens(t *testing.T) {
	h := newHarness(t, Options{})
	first := h.token
	var out map[string]string
	h.get("/v4/auth/refresh/profile").decode(t, &out)
	refreshed := out["token"]
	wantStatus(t, h.get("/v4/clients?pageSize=1"), 200)

	h.sim.RevokeTokens()
	for name, tok := range map[string]string{"first": first, "refreshed": refreshed} {
		h.token = tok
		for _, path := range []string{"/v4/clients?pageSize=1", "/v4/auth/refresh/profile"} {
			r := h.get(path)
			wantStatus(t, r, 401)
			if e := r.profileErr(t); e.Error != "Invalid token." {
				t.Fatalf("%s token on %s: error %q, want Invalid token.", name, path, e.Error)
			}
		}
	}
	h.token = h.login(DefaultAPIKey)
	wantStatus(t, h.get("/v4/clients?pageSize=1"), 200)

	// The same through the admin endpoint, which needs no token.
	r := h.do(http.MethodPost, "/_simulator/tokens/revoke", "", map[string]string{"Authorization": ""})
	wantStatus(t, r, 204)
	r = h.get("/v4/clients?pageSize=1")
	wantStatus(t, r, 401)
	if e := r.profileErr(t); e.Error != "Invalid token." || e.Message != "Invalid token." {
		t.Fatalf("after admin revoke: %s", r.body)
	}
	h.token = h.login(DefaultAPIKey)
	wantStatus(t, h.get("/v4/clients?pageSize=1"), 200)
}

// A standalone simulator that restarts signs with a new random key, so a console
// holding a token from the earlier process is refused and must log in again.
func TestTokensDoNotSurviveARestart(t *testing.T) {
	before := newHarness(t, Options{Seed: 3})
	after := newHarness(t, Options{Seed: 3}) // same seed, same clock: only the process differs
	r := after.do(http.MethodGet, "/v4/clients?pageSize=1", "", map[string]string{"Authorization": "Bearer " + before.token})
	wantStatus(t, r, 401)
	if e := r.profileErr(t); e.Error != "Invalid token." {
		t.Fatalf("token from the earlier process: %s", r.body)
	}
	wantStatus(t, after.get("/v4/clients?pageSize=1"), 200) // its own login works
}

func TestExpiredTokenStatus(t *testing.T) {
	t.Run("403 from options", func(t *testing.T) {
		h := newHarness(t, Options{ExpiredTokenStatus: 403, TokenLifetime: time.Minute})
		if h.sim.ExpiredTokenStatus() != 403 {
			t.Fatalf("status %d", h.sim.ExpiredTokenStatus())
		}
		h.clock.Advance(time.Minute)
		for _, path := range []string{"/v4/clients?pageSize=1", "/v4/auth/refresh/profile", "/sauth/settings/general"} {
			r := h.get(path)
			wantStatus(t, r, 403)
			var raw map[string]json.RawMessage
			r.decode(t, &raw)
			if _, ok := raw["errors"]; ok {
				t.Fatalf("a token rejection carries an errors member: %s", r.body)
			}
			var e profileError
			r.decode(t, &e)
			if e.Error != "Forbidden" || e.Message != "Token expired." || e.Status != 403 || e.Path == "" || e.Timestamp == "" {
				t.Fatalf("%s: %s", path, r.body)
			}
		}
		// A token that is not valid at all is still a 401.
		r := h.do(http.MethodGet, "/v4/clients?pageSize=1", "", map[string]string{"Authorization": "Bearer a.b.c"})
		wantStatus(t, r, 401)
		h.token = h.login(DefaultAPIKey)
		wantStatus(t, h.get("/v4/clients?pageSize=1"), 200)
	})
	t.Run("switched at run time", func(t *testing.T) {
		h := newHarness(t, Options{TokenLifetime: time.Minute})
		var got authWire
		h.get("/_simulator/auth").decode(t, &got)
		if got.ExpiredTokenStatus != 401 {
			t.Fatalf("default %+v", got)
		}
		h.clock.Advance(time.Minute)
		wantStatus(t, h.get("/v4/clients?pageSize=1"), 401)

		r := h.post("/_simulator/auth", `{"expiredTokenStatus":403}`)
		wantStatus(t, r, 200)
		r.decode(t, &got)
		if got.ExpiredTokenStatus != 403 {
			t.Fatalf("answer %s", r.body)
		}
		wantStatus(t, h.get("/v4/clients?pageSize=1"), 403)

		for _, body := range []string{`{"expiredTokenStatus":500}`, `{}`, `{"expiredTokenStatus":403,"other":1}`} {
			r := h.post("/_simulator/auth", body)
			wantStatus(t, r, 400)
			r.profileErr(t)
		}
		if h.sim.ExpiredTokenStatus() != 403 {
			t.Fatal("a refused switch changed the status")
		}
		if err := h.sim.SetExpiredTokenStatus(401); err != nil {
			t.Fatal(err)
		}
		r = h.get("/v4/clients?pageSize=1")
		wantStatus(t, r, 401)
		if e := r.profileErr(t); e.Error != "Token expired." {
			t.Fatalf("back to 401: %s", r.body)
		}
		if h.sim.SetExpiredTokenStatus(200) == nil {
			t.Fatal("200 accepted")
		}
	})
	t.Run("other option values mean 401", func(t *testing.T) {
		if s := New(Options{Customers: 1, ExpiredTokenStatus: 500}); s.ExpiredTokenStatus() != 401 {
			t.Fatalf("status %d", s.ExpiredTokenStatus())
		}
	})
}

// A check that was under way when the tokens were revoked cannot bring a revoked
// token back through the cache of verified tokens.
func TestRevokeTokensWhileInUse(t *testing.T) {
	h := newHarness(t, Options{Customers: 20})
	old := h.token
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				req := httptest.NewRequest(http.MethodGet, "/v4/auth/refresh/profile", nil)
				req.Header.Set("Authorization", "Bearer "+old)
				h.sim.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
	h.sim.RevokeTokens()
	wg.Wait()
	wantStatus(t, h.get("/v4/clients?pageSize=1"), 401)
}
