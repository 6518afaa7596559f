package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != s.client.ID {
		return nil, fmt.Errorf("unknown client %q", id)
	}
	return client{s.client}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != s.client.ID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.client.Secret)) != 1 {
		return errors.New("wrong client id or secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the op; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token: e-mail, name, groups and extra claims of the
// user as they are now (a changed user gets the new groups at the next sign-in).
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, r op.IDTokenRequest, _ []string) error {
	return s.fillUserinfo(info, r.GetSubject())
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expires) {
		return errors.New("access token unknown or expired")
	}
	return s.fillUserinfo(info, t.subject)
}

func (s *storage) fillUserinfo(info *oidc.UserInfo, subject string) error {
	u, ok := s.userBySubject(subject)
	if !ok {
		return fmt.Errorf("user %q not found", subject)
	}
	info.Subject = u.subject()
	info.Email = u.Email
	info.EmailVerified = oidc.Bool(!u.EmailUnverified)
	if u.EmailUnverified {
		// EmailVerified is omitempty: false has to be written as a claim of its own.
		info.AppendClaims("email_verified", false)
	}
	info.Name = u.Name
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	info.AppendClaims("groups", groups)
	for k, v := range u.Claims {
		info.AppendClaims(k, v)
	}
	return nil
}

func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errNotSupported
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotSupported
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNotSupported
}

func (s *storage) userBySubject(subject string) (user, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.subject() == subject {
			return u, true
		}
	}
	return user{}, false
}

// checkPassword returns the user when the e-mail and password match.
func (s *storage) checkPassword(email, password string) (user, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[strings.ToLower(strings.TrimSpace(email))]
	if !ok || subtle.ConstantTimeCompare([]byte(password), []byte(u.Password)) != 1 {
		return user{}, false
	}
	return u, true
}
