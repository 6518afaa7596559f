package handlers

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

// The registration types of the contract; Synerise's default is AUTOMATIC.
const (
	registrationAutomatic         = "AUTOMATIC"
	registrationEmailConfirmation = "REQUIRE_EMAIL_CONFIRMATION"
	registrationEmailActivation   = "REQUIRE_EMAIL_ACTIVATION"
	registrationPIN               = "REQUIRE_PIN_CONFIRMATION"
)

// registrationTTL is how long the workspace's registration type is trusted once read:
// every customer page needs it, and it changes only when an admin saves the settings (which
// forgets it at once on this replica).
const registrationTTL = 30 * time.Second

// registration is the workspace's registration type, as far as the console knows it.
type registration struct {
	kind  string
	known bool // false: the settings could not be read
}

// activates reports whether, under this registration type, snrs_email_confirmed says
// whether the account is confirmed or activated (under AUTOMATIC it stays false for all).
func (r registration) activates() bool {
	switch r.kind {
	case registrationEmailConfirmation, registrationEmailActivation, registrationPIN:
		return r.known
	}
	return false
}

// registrationCache keeps the last registration type read, for registrationTTL.
// Callers that find it stale share one read (singleflight).
type registrationCache struct {
	flight singleflight.Group
	mu     sync.Mutex
	reg    registration
	at     time.Time
}

// registration returns the workspace's registration type, read from Synerise at most once
// per registrationTTL. A failed read is not kept and gives known == false.
func (h *Handler) registration(ctx context.Context) registration {
	if r, ok := h.knownRegistration(); ok {
		return r
	}
	v, err, _ := h.regCache.flight.Do("registration", func() (any, error) {
		// Shared by every waiting caller, so no one caller's cancellation ends it; the
		// client's own deadline does.
		s, err := h.Settings.Get(context.WithoutCancel(ctx))
		if err != nil {
			return registration{}, err
		}
		return h.rememberRegistration(s), nil
	})
	if err != nil {
		h.Logger.Warn("synerise settings read for the registration type failed", "err", err)
		return registration{}
	}
	return v.(registration)
}

// knownRegistration is the registration type read less than registrationTTL ago, if any.
func (h *Handler) knownRegistration() (registration, bool) {
	h.regCache.mu.Lock()
	r, at := h.regCache.reg, h.regCache.at
	h.regCache.mu.Unlock()
	return r, r.known && h.Now().Sub(at) < registrationTTL
}

// registrationAside returns the registration type at once when it is known, and otherwise
// reads it from Synerise while the caller goes on.
func (h *Handler) registrationAside(ctx context.Context) <-chan registration {
	out := make(chan registration, 1) // buffered: an early return leaves nothing blocked
	if r, ok := h.knownRegistration(); ok {
		out <- r
		return out
	}
	go func() { out <- h.registration(ctx) }()
	return out
}

// rememberRegistration keeps the registration type of settings just read, and returns it.
func (h *Handler) rememberRegistration(s *synerise.Settings) registration {
	r := registrationOf(s)
	h.regCache.mu.Lock()
	h.regCache.reg, h.regCache.at = r, h.Now()
	h.regCache.mu.Unlock()
	return r
}

// forgetRegistration drops the kept registration type, after a settings write.
func (h *Handler) forgetRegistration() {
	h.regCache.mu.Lock()
	h.regCache.reg = registration{}
	h.regCache.mu.Unlock()
}

// registrationOf reads the registration type from settings; a workspace that does not
// hold one uses Synerise's default, AUTOMATIC.
func registrationOf(s *synerise.Settings) registration {
	kind, ok := s.RegistrationType()
	if !ok || kind == "" {
		kind = registrationAutomatic
	}
	return registration{kind: kind, known: true}
}

// activationState puts a customer's account state in words, by the contract's
// "Activation state in words": snrs_email_confirmed means confirmed only under the e-mail
// confirmation, e-mail activation and PIN registration types.
func activationState(p *synerise.Profile, reg registration) templates.CustomerState {
	confirmed, known := p.EmailConfirmed()
	switch {
	case p.Anonymous:
		return templates.CustomerState{Text: "Anonymous (no account)", Class: "badge-neutral"}
	case !known:
		return templates.CustomerState{Text: "No password account", Class: "badge-neutral"}
	case !reg.known:
		return templates.CustomerState{Text: "Activation state unknown (the workspace's registration type could not be read)", Class: "badge-neutral"}
	}
	switch reg.kind {
	case registrationAutomatic:
		return templates.CustomerState{Text: "Active — this workspace needs no activation", Class: "badge-ok"}
	case registrationEmailConfirmation:
		if confirmed {
			return templates.CustomerState{Text: "E-mail confirmed", Class: "badge-ok"}
		}
		return templates.CustomerState{Text: "E-mail not confirmed yet (account usable)", Class: "badge-warn"}
	case registrationEmailActivation, registrationPIN:
		if confirmed {
			return templates.CustomerState{Text: "Activated", Class: "badge-ok"}
		}
		return templates.CustomerState{Text: "Not activated yet", Class: "badge-warn"}
	}
	flag := "false"
	if confirmed {
		flag = "true"
	}
	return templates.CustomerState{Text: "Registration type " + reg.kind + " (not known to this console): snrs_email_confirmed is " + flag, Class: "badge-neutral"}
}

// hasPasswordAccount reports whether the customer registered an account (a password and
// an e-mail address): the password reset and the activation resend apply only then.
func hasPasswordAccount(p *synerise.Profile) bool {
	_, known := p.EmailConfirmed()
	return known && !p.Anonymous && p.Email != ""
}

// canResendActivation reports whether an activation resend applies to the customer.
func canResendActivation(p *synerise.Profile, reg registration) bool {
	confirmed, _ := p.EmailConfirmed()
	return hasPasswordAccount(p) && !confirmed && reg.activates()
}
