package main

import (
	"strings"
	"time"
)

// pending returns a request that was not completed yet.
func (s *storage) pending(id string) (*authRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok || a.done {
		return nil, false
	}
	return a, true
}

// complete marks a request as signed in by u at authTime.
func (s *storage) complete(id string, u user, authTime time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.requests[id]; ok {
		a.subject, a.amr, a.authTime, a.done = u.subject(), u.amr(), authTime, true
	}
}

func (s *storage) startSession(email string, authTime time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := randomID(16)
	s.sessions[id] = loginSession{email: email, authTime: authTime}
	return id
}

func (s *storage) sessionByID(id string) (loginSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	return sess, ok
}

func (s *storage) userByEmail(email string) (user, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[strings.ToLower(email)]
	return u, ok
}

func (s *storage) setUser(u user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(u.Email)] = u
}

func (s *storage) rotateKey(k signingKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = k
}

func (s *storage) setMode(m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

func (s *storage) misbehaviour() (string, signingKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode, s.key
}
