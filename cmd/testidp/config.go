package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// config is the provider's whole setup, read from one JSON file.
type config struct {
	Addr   string       `json:"addr"`
	Client clientConfig `json:"client"`
	Users  []user       `json:"users"`
}

// clientConfig is the one confidential client (the console). A redirect URI holding a
// "*" is a glob (path.Match), e.g. http://localhost:*/auth/oidc/callback, for tests that
// learn the console's port only after the provider started.
type clientConfig struct {
	ID           string   `json:"id"`
	Secret       string   `json:"secret"`
	RedirectURIs []string `json:"redirect_uris"`
}

// user is a person who can sign in; the e-mail is the login name.
type user struct {
	Email    string   `json:"email"`
	Password string   `json:"password"`
	Name     string   `json:"name"`
	Groups   []string `json:"groups"`
	// AMR is the ID token's amr claim; empty means ["pwd"].
	AMR []string `json:"amr"`
	// Subject is the ID token's sub; empty means one derived from the e-mail.
	Subject string `json:"subject,omitempty"`
	// EmailUnverified sends email_verified=false.
	EmailUnverified bool `json:"email_unverified,omitempty"`
	// Claims are added to the ID token as they are (e.g. groups as one string under
	// another name).
	Claims map[string]any `json:"claims,omitempty"`
}

func loadConfig(path string) (config, error) {
	cfg := config{Addr: "127.0.0.1:0"}
	if path == "" {
		return cfg, errors.New("-config is required")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("parse config %s: %w", path, err)
	}
	if cfg.Client.ID == "" || cfg.Client.Secret == "" || len(cfg.Client.RedirectURIs) == 0 {
		return cfg, errors.New("config: client needs id, secret and redirect_uris")
	}
	for i, u := range cfg.Users {
		if err := u.check(); err != nil {
			return cfg, fmt.Errorf("config: user %d: %w", i, err)
		}
	}
	return cfg, nil
}

func (u user) check() error {
	if u.Email == "" || u.Password == "" {
		return errors.New("a user needs email and password")
	}
	return nil
}

// subject is the user's stable identifier: replacing a user keeps it.
func (u user) subject() string {
	if u.Subject != "" {
		return u.Subject
	}
	sum := sha256.Sum256([]byte(strings.ToLower(u.Email)))
	return "u-" + hex.EncodeToString(sum[:8])
}

func (u user) amr() []string {
	if len(u.AMR) == 0 {
		return []string{"pwd"}
	}
	return u.AMR
}
