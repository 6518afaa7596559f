package synerise

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestChangeEmail(t *testing.T) {
	u := newUpstream(t)
	var body, ctype string
	var hits atomic.Int32
	u.handle("POST /v4/clients/42", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		body, ctype = string(b), r.Header.Get("Content-Type")
		w.WriteHeader(http.StatusAccepted)
	})
	c := newTestClient(t, u)
	if err := c.Profiles.ChangeEmail(context.Background(), 42, "new+addr@example.com"); err != nil {
		t.Fatal(err)
	}
	if body != `{"email":"new+addr@example.com"}` || ctype != "application/json" || hits.Load() != 1 {
		t.Errorf("sent %q (%s), %d requests", body, ctype, hits.Load())
	}
	if err := c.Profiles.ChangeEmail(context.Background(), 42, " "); !IsInvalidInput(err) || hits.Load() != 1 {
		t.Errorf("blank address: %v, %d requests", err, hits.Load())
	}
}

func TestChangeEmailRefusals(t *testing.T) {
	taken := `{"error":"Bad Request","status":%d,"message":"Validation failed.","errors":[{"code":6,"field":"email","message":"is already used by another profile","rejectedValue":"b@x.io"}]}`
	tests := []struct {
		name   string
		status int
		body   string
		taken  bool
	}{
		{"400 on email", 400, strings.Replace(taken, "%d", "400", 1), true},
		{"409 on email", 409, strings.Replace(taken, "%d", "409", 1), true},
		{"400 on another field", 400, `{"error":"Bad Request","status":400,"message":"x","errors":[{"field":"clientId","message":"bad"}]}`, false},
		{"400 without field errors", 400, `{"error":"Bad Request","status":400,"message":"x"}`, false},
		{"404", 404, `{"error":"Not Found","status":404,"message":"Profile not found."}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t)
			var hits atomic.Int32
			u.handle("POST /v4/clients/7", func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			err := newTestClient(t, u).Profiles.ChangeEmail(context.Background(), 7, "b@x.io")
			var te *EmailTakenError
			if IsEmailTaken(err) != tt.taken || errors.As(err, &te) != tt.taken {
				t.Fatalf("IsEmailTaken(%v) = %v, want %v", err, IsEmailTaken(err), tt.taken)
			}
			if tt.taken && (te.Email != "b@x.io" || !strings.Contains(err.Error(), "b@x.io is already used by another profile")) {
				t.Errorf("error %q", err)
			}
			var api *APIError
			if !errors.As(err, &api) || api.StatusCode != tt.status {
				t.Errorf("APIError not reachable: %v", err)
			}
			if hits.Load() != 1 {
				t.Errorf("%d requests, want exactly 1", hits.Load())
			}
		})
	}
}

func TestErase(t *testing.T) {
	for _, status := range []int{200, 202, 204} {
		u := newUpstream(t)
		var hits atomic.Int32
		u.handle("DELETE /v4/clients/42", func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.WriteHeader(status)
		})
		if err := newTestClient(t, u).Profiles.Erase(context.Background(), 42); err != nil || hits.Load() != 1 {
			t.Errorf("%d: err %v, %d requests", status, err, hits.Load())
		}
	}
	u := newUpstream(t)
	u.handle("DELETE /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, map[string]any{"error": "Not Found", "status": 404, "message": "Profile not found."})
	})
	c := newTestClient(t, u)
	if err := c.Profiles.Erase(context.Background(), 1); !IsNotFound(err) {
		t.Errorf("404: %v", err)
	}
	if err := c.Profiles.Erase(context.Background(), 0); !IsInvalidInput(err) {
		t.Errorf("clientId 0: %v", err)
	}
}

func TestEraseIsNeverRetriedAndOutlivesItsCaller(t *testing.T) {
	t.Run("503 once", func(t *testing.T) {
		u := newUpstream(t)
		var hits atomic.Int32
		failing(t, u, "DELETE /v4/clients/9", 503, &hits)
		err := newTestClient(t, u).Profiles.Erase(context.Background(), 9)
		if !IsUnavailable(err) || hits.Load() != 1 {
			t.Errorf("%d requests, err %v; want exactly 1", hits.Load(), err)
		}
	})
	t.Run("dropped connection once", func(t *testing.T) {
		u := newUpstream(t)
		var hits atomic.Int32
		dropping(u, "DELETE /v4/clients/9", &hits)
		if err := newTestClient(t, u).Profiles.Erase(context.Background(), 9); err == nil || hits.Load() != 1 {
			t.Errorf("%d requests, err %v; want exactly 1", hits.Load(), err)
		}
	})
	t.Run("caller cancels after sending", func(t *testing.T) {
		u := newUpstream(t)
		arrived, release := make(chan struct{}), make(chan struct{})
		var done atomic.Bool
		u.handle("DELETE /v4/clients/9", func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-release
			done.Store(r.Context().Err() == nil)
			w.WriteHeader(204)
		})
		c := newTestClient(t, u)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel(); time.Sleep(50 * time.Millisecond); close(release) }()
		if err := c.Profiles.Erase(ctx, 9); err != nil || !done.Load() {
			t.Errorf("err %v, request completed %v; want Synerise's answer", err, done.Load())
		}
	})
}

func TestErasePath(t *testing.T) {
	u := newUpstream(t)
	var got string
	u.handle("DELETE /gdpr/v1/profiles/", func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.RequestURI()
		w.WriteHeader(204)
	})
	c := newTestClient(t, u, WithErasePath("/gdpr/v1/profiles/{clientId}/erase"))
	if err := c.Profiles.Erase(context.Background(), 42); err != nil || got != "/gdpr/v1/profiles/42/erase" {
		t.Errorf("err %v, path %q", err, got)
	}
	for _, bad := range []string{"", "v4/clients/{clientId}", "/v4/clients", "/v4/clients/{clientId}/{clientId}",
		"/v4/clients/x{clientId}", "/v4/clients/{clientId}?hard=true"} {
		if err := CheckErasePath(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
		if _, err := NewClient(u.URL, testAPIKey, WithErasePath(bad)); err == nil {
			t.Errorf("NewClient accepted erase path %q", bad)
		}
	}
}

func TestGetRawIsByteExact(t *testing.T) {
	u := newUpstream(t)
	raw := "{\"clientId\":42, \"email\":\"a<b>&c@x.io\",\n \"attributes\":{\"n\":1.50,\"u\":\"\\u00e9\"}, \"unknown\":[1 ,2]}"
	u.handle("GET /v4/clients/42", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, raw) })
	u.handle("GET /v4/clients/43", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") })
	c := newTestClient(t, u)
	got, err := c.Profiles.GetRaw(context.Background(), 42)
	if err != nil || string(got) != raw {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := c.Profiles.GetRaw(context.Background(), 43); err == nil {
		t.Error("a body that is not JSON was accepted")
	}
	if _, err := c.Profiles.GetRaw(context.Background(), 44); !IsNotFound(err) {
		t.Errorf("unknown id: %v", err)
	}
}
