package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Lifetimes of the e-mailed tokens (assumed; Synerise does not document them).
const (
	PasswordResetTokenLifetime = time.Hour
	ActivationTokenLifetime    = 24 * time.Hour
)

// defaultActivationLink is where confirmation links point when the
// confirmationRedirectLink setting is null.
const defaultActivationLink = "https://simulator.invalid/activate"

// pendingToken is an e-mailed token waiting for its confirmation.
type pendingToken struct {
	clientID int64
	expires  time.Time
}

// accountError is a refusal: status, message and optional field errors.
type accountError struct {
	status  int
	message string
	fields  []FieldError
}

func refuse(status int, msg string) *accountError { return &accountError{status: status, message: msg} }

// deviceRule is a refusal under the PIN device rule: a 403 that always carries a
// field error on deviceId, which is how a client tells it from a rejected token
// (a 403 without field errors).
func deviceRule(msg, fieldMsg, deviceID string) *accountError {
	return &accountError{status: http.StatusForbidden, message: msg, fields: []FieldError{{
		Code: CodeInvalid, Field: "deviceId", Message: fieldMsg, RejectedValue: deviceID,
	}}}
}

// noActivation refuses activation and PIN requests for an account registered
// under registrationType AUTOMATIC: it is usable at once and snrs_email_confirmed
// stays "false", so there is nothing to activate.
func noActivation() *accountError {
	return refuse(http.StatusBadRequest, "Account activation is not required: the account was registered "+
		"under registration type AUTOMATIC, so it is usable at once and snrs_email_confirmed stays false.")
}

// readStrings reads the named string members of a JSON body, all required.
func (s *Simulator) readStrings(req *request, names ...string) (map[string]string, bool) {
	obj, ok := s.readObject(req)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(names))
	var errs []FieldError
	for _, n := range names {
		v, present, err := stringField(obj, n)
		switch {
		case err != nil:
			errs = append(errs, FieldError{Code: CodeInvalid, Field: n, Message: "must be a string", RejectedValue: rejected(obj[n])})
		case !present || strings.TrimSpace(v) == "":
			errs = append(errs, FieldError{Code: CodeRequired, Field: n, Message: "is required", RejectedValue: v})
		}
		out[n] = v
	}
	if len(errs) > 0 {
		s.fail(req, http.StatusBadRequest, "Validation failed.", errs)
		return nil, false
	}
	return out, true
}

// answer sends 202 on success or the refusal in the profile shape.
func (s *Simulator) answer(req *request, e *accountError) {
	if e != nil {
		s.fail(req, e.status, e.message, e.fields)
		return
	}
	req.w.WriteHeader(http.StatusAccepted)
}

// registeredByEmail finds a customer that has a password account; callers hold s.mu.
func (s *Simulator) registeredByEmail(email string) (*customer, *accountError) {
	c := s.byEmail[strings.ToLower(email)]
	switch {
	case c == nil:
		return nil, refuse(http.StatusNotFound, "No customer with this e-mail.")
	case c.p.Anonymous:
		return nil, refuse(http.StatusBadRequest, "The customer is anonymous.")
	case !c.registered:
		return nil, refuse(http.StatusBadRequest, "The customer is not registered with a password.")
	}
	return c, nil
}

func (s *Simulator) handlePasswordResetRequest(req *request) {
	in, ok := s.readStrings(req, "email")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.registeredByEmail(in["email"])
	if e == nil {
		tok := s.secrets.hex(24)
		now := s.now()
		s.resets[tok] = &pendingToken{clientID: c.p.ClientID, expires: now.Add(PasswordResetTokenLifetime)}
		s.outbox.add(Message{Kind: KindPasswordReset, Email: *c.p.Email, ClientID: c.p.ClientID, Secret: tok, Time: now.UTC()})
	}
	s.answer(req, e)
}

func (s *Simulator) handlePasswordResetConfirm(req *request) {
	in, ok := s.readStrings(req, "token", "password")
	if !ok {
		return
	}
	if n := utf8.RuneCountInString(in["password"]); n < 8 || n > 128 {
		s.fail(req, http.StatusBadRequest, "Validation failed.", []FieldError{{
			Code: CodeInvalid, Field: "password", Message: "must be 8 to 128 characters", RejectedValue: "[hidden]",
		}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, e := s.takeToken(s.resets, in["token"])
	if e == nil {
		c := s.byID[p.clientID]
		sum := sha256.Sum256([]byte(in["password"]))
		c.password = hex.EncodeToString(sum[:])
		c.registered = true
	}
	s.answer(req, e)
}

// takeToken consumes a pending token; callers hold s.mu.
func (s *Simulator) takeToken(m map[string]*pendingToken, tok string) (*pendingToken, *accountError) {
	p, ok := m[tok]
	if !ok {
		return nil, refuse(http.StatusBadRequest, "The e-mailed token is invalid or was already used.")
	}
	delete(m, tok)
	if !s.now().Before(p.expires) || s.byID[p.clientID] == nil {
		return nil, refuse(http.StatusBadRequest, "The e-mailed token has expired; request a new one.")
	}
	return p, nil
}

func (s *Simulator) handleActivationRequest(req *request) {
	in, ok := s.readStrings(req, "email")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.registeredByEmail(in["email"])
	switch {
	case e != nil:
	case c.automatic:
		e = noActivation()
	case c.activated():
		e = refuse(http.StatusBadRequest, "The account is already activated.")
	}
	if e == nil {
		tok := s.secrets.hex(24)
		now := s.now()
		s.activates[tok] = &pendingToken{clientID: c.p.ClientID, expires: now.Add(ActivationTokenLifetime)}
		s.outbox.add(Message{
			Kind: KindActivation, Email: *c.p.Email, ClientID: c.p.ClientID, Secret: tok,
			Link: s.activationLink(tok), Time: now.UTC(),
		})
	}
	s.answer(req, e)
}

// activationLink builds the link e-mailed for confirmation; callers hold s.mu.
func (s *Simulator) activationLink(tok string) string {
	base := s.settingString("confirmationRedirectLink")
	if base == "" {
		base = defaultActivationLink
	}
	u, err := url.Parse(base)
	if err != nil {
		return defaultActivationLink + "?token=" + tok
	}
	q := u.Query()
	q.Set("token", tok)
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Simulator) handleActivationConfirm(req *request) {
	in, ok := s.readStrings(req, "token")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, e := s.takeToken(s.activates, in["token"])
	if e == nil {
		s.activate(s.byID[p.clientID])
	}
	s.answer(req, e)
}

// activate marks the account confirmed; callers hold s.mu.
func (s *Simulator) activate(c *customer) {
	attrs := make(map[string]json.RawMessage, len(c.p.Attributes)+1)
	for k, v := range c.p.Attributes {
		attrs[k] = v
	}
	attrs[AttrEmailConfirmed] = json.RawMessage(`"true"`)
	c.p.Attributes = attrs
	c.pin = ""
	c.changed()
}

// pinTarget finds the account a PIN call is about; callers hold s.mu.
func (s *Simulator) pinTarget(in map[string]string) (*customer, *accountError) {
	c, e := s.registeredByEmail(in["email"])
	if e != nil {
		return nil, e
	}
	if !strings.EqualFold(deref(c.p.UUID), in["uuid"]) {
		return nil, &accountError{status: http.StatusBadRequest, message: "uuid does not match the customer.", fields: []FieldError{{
			Code: CodeInvalid, Field: "uuid", Message: "does not match the customer with this e-mail", RejectedValue: in["uuid"],
		}}}
	}
	if c.automatic {
		return nil, noActivation()
	}
	if c.activated() {
		return nil, refuse(http.StatusBadRequest, "The account is already activated.")
	}
	return c, nil
}

func (s *Simulator) handlePINRequest(req *request) {
	in, ok := s.readStrings(req, "email", "uuid", "deviceId")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.pinTarget(in)
	if e == nil && c.pinDevice != "" && c.pinDevice != in["deviceId"] && !s.settingBool("allowPinResendFromDifferentDeviceId") {
		e = deviceRule("A PIN may be re-sent only from the device that last requested one "+
			"(allowPinResendFromDifferentDeviceId is false).", "may only be the device that last requested a PIN", in["deviceId"])
	}
	if e == nil {
		now := s.now()
		c.pinDevice = in["deviceId"] // a resend from another device moves the binding
		c.pin = s.secrets.digits(s.settingInt("pinConfirmationLength"))
		c.pinExpires = now.Add(time.Duration(s.settingInt("pinConfirmationValidInSeconds")) * time.Second)
		c.changed()
		s.outbox.add(Message{Kind: KindPIN, Email: *c.p.Email, ClientID: c.p.ClientID, Secret: c.pin, DeviceID: c.pinDevice, Time: now.UTC()})
	}
	s.answer(req, e)
}

func (s *Simulator) handlePINConfirm(req *request) {
	in, ok := s.readStrings(req, "email", "uuid", "deviceId", "pinCode")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.pinTarget(in)
	switch {
	case e != nil:
	case c.pin == "":
		e = refuse(http.StatusBadRequest, "No PIN is pending for this account; request one.")
	case c.pinDevice != in["deviceId"]:
		e = deviceRule("The PIN must be confirmed from the device that last requested one.",
			"is not the device that last requested a PIN", in["deviceId"])
	case !s.now().Before(c.pinExpires):
		e = refuse(http.StatusBadRequest, "The PIN has expired; request a new one.")
	case c.pin != in["pinCode"]:
		e = refuse(http.StatusBadRequest, "Invalid PIN.")
	default:
		s.activate(c)
	}
	s.answer(req, e)
}

// Account is the registration state of one customer, as the admin endpoint shows it.
type Account struct {
	ClientID      int64     `json:"clientId"`
	Email         string    `json:"email,omitempty"`
	UUID          string    `json:"uuid,omitempty"`
	Anonymous     bool      `json:"anonymous"`
	Registered    bool      `json:"registered"`
	Activated     bool      `json:"activated"`
	PINDeviceID   string    `json:"pinDeviceId,omitempty"`
	PINPending    bool      `json:"pinPending"`
	PINExpiresAt  time.Time `json:"pinExpiresAt,omitzero"`
	State         string    `json:"state"`
	LastActivity  time.Time `json:"lastActivityDate"`
	PendingTokens int       `json:"pendingTokens"`
}

// Account returns the registration state of a customer.
func (s *Simulator) Account(clientID int64) (Account, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.byID[clientID]
	if c == nil {
		return Account{}, false
	}
	a := Account{
		ClientID: c.p.ClientID, Email: deref(c.p.Email), UUID: deref(c.p.UUID), Anonymous: c.p.Anonymous,
		Registered: c.registered, Activated: c.activated(), PINDeviceID: c.pinDevice,
		PINPending: c.pin != "", LastActivity: c.lastActivity,
		State: stateOf(c),
	}
	if c.pin != "" {
		a.PINExpiresAt = c.pinExpires.UTC()
	}
	for _, m := range []map[string]*pendingToken{s.resets, s.activates} {
		for _, p := range m {
			if p.clientID == clientID {
				a.PendingTokens++
			}
		}
	}
	return a, true
}

// Registration states, as Account.State and ExampleCustomer.State name them.
const (
	StateActivated               = "activated"                 // registered, snrs_email_confirmed "true"
	StateUnconfirmed             = "unconfirmed"               // registered, usable, e-mail not confirmed yet
	StateAutomatic               = "automatic"                 // registered under AUTOMATIC: usable, needs no activation, snrs_email_confirmed stays "false"
	StateAwaitingEmailActivation = "awaiting_email_activation" // registered, unusable until the e-mailed link is used
	StateAwaitingPIN             = "awaiting_pin"              // registered, unusable until the PIN is confirmed
	StateNotRegistered           = "not_registered"            // a profile without a password account
	StateAnonymous               = "anonymous"                 // no e-mail, no account
)

func stateOf(c *customer) string {
	switch {
	case c.p.Anonymous:
		return StateAnonymous
	case !c.registered:
		return StateNotRegistered
	case c.activated():
		return StateActivated
	case c.automatic:
		return StateAutomatic
	case c.pinDevice != "" || c.awaiting == StateAwaitingPIN:
		return StateAwaitingPIN
	case c.awaiting == StateAwaitingEmailActivation:
		return StateAwaitingEmailActivation
	}
	return StateUnconfirmed
}
