// Package passkey keeps operators' passkeys (WebAuthn credentials) and runs the WebAuthn
// ceremonies: registration, sign-in as a second factor or for a step-up, and
// passwordless sign-in with a discoverable credential.
//
// Every passkey is registered as a discoverable credential with user verification
// required. Discoverable, because the sign-in page offers "Sign in with a passkey" without
// an e-mail first; user verification required (a PIN or biometric on the authenticator),
// because a passkey that signs in alone must be two factors at once — something the
// operator has and something they know or are — to satisfy CONSOLE_MFA_REQUIRED. Every
// platform authenticator and modern security key can verify its user; one that cannot is
// refused at registration rather than accepted as a weaker factor.
package passkey

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Errors the service returns besides a *Refusal.
var (
	// ErrNotFound is a passkey that is not the operator's (or no longer exists).
	ErrNotFound = errors.New("passkey: no such passkey")
	// ErrNoPasskeys is a login begun for an operator who has none.
	ErrNoPasskeys = errors.New("passkey: the operator has no passkey")
	// ErrExists is a credential registered twice.
	ErrExists = errors.New("passkey: this passkey is already registered")
)

// Refusal is an authenticator's answer the console does not accept: a wrong origin or
// challenge, a bad signature, an unknown credential, a cloned authenticator. Reason says
// which in the library's words, never with key material.
type Refusal struct {
	Reason string
	Err    error
}

func (r *Refusal) Error() string { return "passkey: refused: " + r.Reason }
func (r *Refusal) Unwrap() error { return r.Err }

// refused wraps a library error as a Refusal with its short description.
func refused(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return &Refusal{Reason: pe.Details, Err: err}
	}
	return &Refusal{Reason: err.Error(), Err: err}
}

// Owner is the operator a passkey is registered for, as the authenticator shows them.
type Owner struct {
	ID    int64
	Email string
	Name  string
}

// Passkey is one registered passkey as the operator sees it.
type Passkey struct {
	ID           int64      `db:"id"`
	OperatorID   int64      `db:"operator_id"`
	CredentialID []byte     `db:"credential_id"`
	Name         string     `db:"name"`
	CreatedAt    time.Time  `db:"created_at"`
	LastUsedAt   *time.Time `db:"last_used_at"`
}

// IDPrefix is the start of the credential id, enough to tell passkeys apart in the audit
// log without recording the whole id.
func (p Passkey) IDPrefix() string {
	s := base64.RawURLEncoding.EncodeToString(p.CredentialID)
	if len(s) > 12 {
		s = s[:12]
	}
	return s
}

// Service keeps passkeys in PostgreSQL and runs the ceremonies for one relying party.
type Service struct {
	pool *pgxpool.Pool
	wa   *webauthn.WebAuthn
	now  func() time.Time
}

// New returns the service for the console reached at publicURL (its origin; the relying
// party id is its host). now is the clock ceremonies expire by.
func New(pool *pgxpool.Pool, publicURL string, now func() time.Time) (*Service, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("passkey: public URL %q is not an http(s) origin", publicURL)
	}
	required := true
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: "RaaS Console",
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: &required,
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: 2 * time.Minute, TimeoutUVD: 2 * time.Minute},
			Registration: webauthn.TimeoutConfig{Timeout: 2 * time.Minute, TimeoutUVD: 2 * time.Minute},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: relying party: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{pool: pool, wa: wa, now: now}, nil
}

// user is an operator as the WebAuthn library sees them.
type user struct {
	handle      []byte
	name        string
	displayName string
	creds       []webauthn.Credential
}

func (u user) WebAuthnID() []byte                         { return u.handle }
func (u user) WebAuthnName() string                       { return u.name }
func (u user) WebAuthnDisplayName() string                { return u.displayName }
func (u user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// ceremony wraps a library session in this service's ceremony state.
func (s *Service) ceremony(purpose string, operatorID int64, data *webauthn.SessionData) Ceremony {
	return Ceremony{Purpose: purpose, OperatorID: operatorID, Data: *data, Expires: s.now().Add(ceremonyLifetime)}
}

// BeginRegistration starts registering a passkey named name for o: the options for
// navigator.credentials.create and the state to keep. The operator's existing passkeys
// are excluded, so one authenticator is not registered twice.
func (s *Service) BeginRegistration(ctx context.Context, o Owner, name string) (*protocol.CredentialCreation, Ceremony, error) {
	handle, err := s.ensureHandle(ctx, o.ID)
	if err != nil {
		return nil, Ceremony{}, err
	}
	creds, err := s.credentials(ctx, o.ID)
	if err != nil {
		return nil, Ceremony{}, err
	}
	u := user{handle: handle, name: o.Email, displayName: o.Name, creds: creds}
	creation, data, err := s.wa.BeginRegistration(u, webauthn.WithExclusions(webauthn.Credentials(creds).CredentialDescriptors()))
	if err != nil {
		return nil, Ceremony{}, fmt.Errorf("passkey: begin registration: %w", err)
	}
	c := s.ceremony(PurposeRegister, o.ID, data)
	c.Name = name
	return creation, c, nil
}

// FinishRegistration checks the authenticator's answer to c and stores the new passkey.
func (s *Service) FinishRegistration(ctx context.Context, o Owner, c Ceremony, response []byte) (Passkey, error) {
	if c.Purpose != PurposeRegister || c.OperatorID != o.ID || !s.now().Before(c.Expires) {
		return Passkey{}, ErrNoCeremony
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return Passkey{}, refused(err)
	}
	u, err := s.user(ctx, o.ID)
	if err != nil {
		return Passkey{}, err
	}
	u.name, u.displayName = o.Email, o.Name
	cred, err := s.wa.CreateCredential(u, c.Data, parsed)
	if err != nil {
		return Passkey{}, refused(err)
	}
	return s.insert(ctx, o.ID, c.Name, cred)
}

// BeginLogin starts a sign-in by a known operator (second factor, step-up): the options
// for navigator.credentials.get, allowing only their passkeys.
func (s *Service) BeginLogin(ctx context.Context, operatorID int64, purpose string) (*protocol.CredentialAssertion, Ceremony, error) {
	u, err := s.user(ctx, operatorID)
	if err != nil {
		return nil, Ceremony{}, err
	}
	if len(u.creds) == 0 {
		return nil, Ceremony{}, ErrNoPasskeys
	}
	assertion, data, err := s.wa.BeginLogin(u)
	if err != nil {
		return nil, Ceremony{}, fmt.Errorf("passkey: begin login: %w", err)
	}
	return assertion, s.ceremony(purpose, operatorID, data), nil
}

// FinishLogin checks the assertion answering c, begun for operatorID, and records the
// use of the passkey.
func (s *Service) FinishLogin(ctx context.Context, operatorID int64, c Ceremony, response []byte) (Passkey, error) {
	if c.OperatorID != operatorID || c.OperatorID == 0 || !s.now().Before(c.Expires) {
		return Passkey{}, ErrNoCeremony
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Passkey{}, refused(err)
	}
	u, err := s.user(ctx, operatorID)
	if err != nil {
		return Passkey{}, err
	}
	cred, err := s.wa.ValidateLogin(u, c.Data, parsed)
	if err != nil {
		return Passkey{}, refused(err)
	}
	return s.used(ctx, operatorID, cred)
}

// BeginDiscoverableLogin starts a passwordless sign-in: no credential is named, the
// authenticator offers the passkeys it holds for this console.
func (s *Service) BeginDiscoverableLogin() (*protocol.CredentialAssertion, Ceremony, error) {
	assertion, data, err := s.wa.BeginDiscoverableLogin()
	if err != nil {
		return nil, Ceremony{}, fmt.Errorf("passkey: begin discoverable login: %w", err)
	}
	return assertion, s.ceremony(PurposeSignIn, 0, data), nil
}

// FinishDiscoverableLogin checks the assertion answering c and returns the operator its
// user handle names, with the passkey used.
func (s *Service) FinishDiscoverableLogin(ctx context.Context, c Ceremony, response []byte) (int64, Passkey, error) {
	if c.Purpose != PurposeSignIn || c.OperatorID != 0 || !s.now().Before(c.Expires) {
		return 0, Passkey{}, ErrNoCeremony
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return 0, Passkey{}, refused(err)
	}
	var operatorID int64
	lookup := func(_, userHandle []byte) (webauthn.User, error) {
		id, err := s.operatorByHandle(ctx, userHandle)
		if err != nil {
			return nil, err
		}
		u, err := s.user(ctx, id)
		if err != nil {
			return nil, err
		}
		operatorID = id
		return u, nil
	}
	_, cred, err := s.wa.ValidatePasskeyLogin(lookup, c.Data, parsed)
	if err != nil {
		return 0, Passkey{}, refused(err)
	}
	pk, err := s.used(ctx, operatorID, cred)
	return operatorID, pk, err
}

// newHandle is a random user handle: 64 bytes, never derived from the operator id, so a
// passkey tells nobody which account it opens.
func newHandle() ([]byte, error) {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("passkey: user handle: %w", err)
	}
	return b, nil
}

// marshalCredential is the credential as the credential column keeps it.
func marshalCredential(cred *webauthn.Credential) ([]byte, error) {
	b, err := json.Marshal(cred)
	if err != nil {
		return nil, fmt.Errorf("passkey: encode credential: %w", err)
	}
	return b, nil
}

// isUniqueViolation reports a duplicate key.
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}

// noRows maps pgx's "no rows" to err.
func noRows(err, to error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return to
	}
	return err
}
