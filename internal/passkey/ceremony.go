package passkey

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// SessionKey is the console session value that holds the WebAuthn ceremony under way
// (JSON of a Ceremony). The state stays on the server: the browser only ever sees the
// challenge.
const SessionKey = "passkey_ceremony"

// ceremonyLifetime is how long a begun ceremony may be finished: long enough to touch a
// security key or unlock a phone, short enough that a forgotten tab holds nothing.
const ceremonyLifetime = 3 * time.Minute

// The purposes a ceremony is begun for; Finish refuses a state begun for another one, so a
// registration's or a step-up's challenge never signs anybody in.
const (
	PurposeRegister     = "register"
	PurposeSignIn       = "signin"
	PurposeSecondFactor = "second_factor"
	PurposeStepUp       = "step_up"
)

// ErrNoCeremony is a Finish without a state begun for it: never begun, begun for another
// purpose or operator, already used, or expired.
var ErrNoCeremony = errors.New("passkey: no ceremony under way (expired or already used)")

// Ceremony is the server-side state between a Begin and its Finish.
type Ceremony struct {
	Purpose string `json:"purpose"`
	// OperatorID is the operator the ceremony is for; 0 for a passwordless sign-in, where
	// the authenticator says who it is.
	OperatorID int64 `json:"operator_id,omitempty"`
	// Name is the name the operator gave the passkey being registered.
	Name    string               `json:"name,omitempty"`
	Data    webauthn.SessionData `json:"data"`
	Expires time.Time            `json:"expires"`
}

// Put keeps c in session values, replacing any ceremony under way.
func Put(values map[any]any, c Ceremony) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	values[SessionKey] = string(b)
	return nil
}

// Take removes the ceremony from session values and returns it when it was begun for
// purpose and operatorID and has not expired at now. It is removed whatever the answer:
// a state is used once, and the caller must save the session before it finishes the
// ceremony so that a second request with the same state finds none.
func Take(values map[any]any, purpose string, operatorID int64, now time.Time) (Ceremony, error) {
	raw, _ := values[SessionKey].(string)
	delete(values, SessionKey)
	var c Ceremony
	if raw == "" || json.Unmarshal([]byte(raw), &c) != nil {
		return Ceremony{}, ErrNoCeremony
	}
	if c.Purpose != purpose || c.OperatorID != operatorID || !now.Before(c.Expires) {
		return Ceremony{}, ErrNoCeremony
	}
	return c, nil
}
