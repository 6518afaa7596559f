package synerise

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
)

func TestAccountsActions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		path     string
		call     func(c *Client) error
		wantBody string
	}{
		{"password reset", "/sauth/clients/password-reset/request",
			func(c *Client) error { return c.Accounts.RequestPasswordReset(ctx, "ann+x@example.com") },
			`{"email":"ann+x@example.com"}`},
		{"activation e-mail", "/sauth/clients/activation/request",
			func(c *Client) error { return c.Accounts.ResendActivationEmail(ctx, "ann@example.com") },
			`{"email":"ann@example.com"}`},
		{"activation PIN", "/sauth/clients/activation/by-pin-code/request",
			func(c *Client) error {
				return c.Accounts.RequestActivationPIN(ctx, PINRequest{Email: "ann@example.com", UUID: "u-1", DeviceID: "dev-9"})
			},
			`{"email":"ann@example.com","uuid":"u-1","deviceId":"dev-9"}`},
	}
	for _, tt := range tests {
		for _, status := range []int{http.StatusAccepted, http.StatusNoContent, http.StatusOK} {
			t.Run(tt.name+"/"+http.StatusText(status), func(t *testing.T) {
				u := newUpstream(t)
				var body, ctype string
				u.handle("POST "+tt.path, func(w http.ResponseWriter, r *http.Request) {
					b, _ := io.ReadAll(r.Body)
					body, ctype = string(b), r.Header.Get("Content-Type")
					w.WriteHeader(status)
				})
				if err := tt.call(newTestClient(t, u)); err != nil {
					t.Fatal(err)
				}
				if body != tt.wantBody || ctype != "application/json" {
					t.Errorf("body %s (%s), want %s", body, ctype, tt.wantBody)
				}
			})
		}
	}
}

func TestAccountsRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		status int
		body   string
		is     func(error) bool
	}{
		{404, `{"error":"Not Found","status":404,"path":"/sauth/clients/activation/request","message":"Client not found"}`, IsNotFound},
		{400, `{"error":"Bad Request","status":400,"message":"Account already activated"}`, IsBadRequest},
		// A business refusal carries field errors; a bare 403 would be a refused token.
		{403, `{"error":"Forbidden","status":403,"message":"PIN may be re-sent only from the last device",` +
			`"errors":[{"code":3,"field":"deviceId","message":"not the last device","rejectedValue":"d-2"}]}`, IsForbidden},
		{409, `{"error":"Conflict","status":409,"message":"x"}`, IsConflict},
	}
	for _, tt := range tests {
		u := newUpstream(t)
		u.handle("POST /sauth/clients/activation/request", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.status)
			io.WriteString(w, tt.body)
		})
		err := newTestClient(t, u).Accounts.ResendActivationEmail(ctx, "ann@example.com")
		var ae *APIError
		if !tt.is(err) || !errors.As(err, &ae) || ae.Message == "" || IsCredentialsRefused(err) || u.logins.Load() != 1 {
			t.Errorf("%d: err = %v", tt.status, err)
		}
	}
}

func TestAccountsValidateBeforeCalling(t *testing.T) {
	u := newUpstream(t)
	c := newTestClient(t, u)
	ctx := context.Background()
	for name, err := range map[string]error{
		"reset":      c.Accounts.RequestPasswordReset(ctx, ""),
		"activation": c.Accounts.ResendActivationEmail(ctx, " "),
		"pin":        c.Accounts.RequestActivationPIN(ctx, PINRequest{Email: "a@b.c"}),
	} {
		if !IsInvalidInput(err) {
			t.Errorf("%s: %v, want an invalid input error", name, err)
		}
	}
	if u.logins.Load() != 0 {
		t.Error("a refused call reached Synerise")
	}
}
