package main

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// authRequest is one authorization request from the client, completed by the login page.
type authRequest struct {
	id           string
	clientID     string
	redirectURI  string
	state        string
	nonce        string
	scopes       []string
	responseType oidc.ResponseType
	responseMode oidc.ResponseMode
	challenge    *oidc.CodeChallenge
	prompt       []string
	maxAge       *uint
	created      time.Time

	subject  string
	amr      []string
	authTime time.Time
	done     bool
}

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return "" }
func (a *authRequest) GetAMR() []string                      { return a.amr }
func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

// forcesLogin reports whether the user must type their password again even with a live
// session here: prompt=login (which the op turns into max_age=0) or a session older than
// max_age.
func (a *authRequest) forcesLogin(authTime, now time.Time) bool {
	if a.maxAge == nil {
		return false
	}
	return now.Sub(authTime) > time.Duration(*a.maxAge)*time.Second || *a.maxAge == 0
}

func (a *authRequest) promptNone() bool {
	for _, p := range a.prompt {
		if p == oidc.PromptNone {
			return true
		}
	}
	return false
}

func newAuthRequest(id string, r *oidc.AuthRequest, now time.Time) *authRequest {
	a := &authRequest{
		id:           id,
		clientID:     r.ClientID,
		redirectURI:  r.RedirectURI,
		state:        r.State,
		nonce:        r.Nonce,
		scopes:       r.Scopes,
		responseType: r.ResponseType,
		responseMode: r.ResponseMode,
		prompt:       r.Prompt,
		maxAge:       r.MaxAge,
		created:      now,
	}
	if r.CodeChallenge != "" {
		a.challenge = &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod}
	}
	return a
}
