package main

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// newServer wires the op, the login page, the control endpoints and the misbehaviour
// wrapper around the token endpoint.
func newServer(issuer string, cfg config) (http.Handler, error) {
	store, err := newStorage(cfg)
	if err != nil {
		return nil, err
	}
	opCfg := &op.Config{
		CodeMethodS256: true,
		AuthMethodPost: true,
	}
	rand.Read(opCfg.CryptoKey[:]) // never fails: crypto/rand crashes the program instead
	provider, err := op.NewProvider(opCfg, store, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("op: %w", err)
	}
	l := &login{store: store, provider: provider, callback: op.AuthCallbackURL(provider), now: time.Now}
	intercept := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+loginPath, intercept.HandlerFunc(l.show))
	mux.HandleFunc("POST "+loginPath, intercept.HandlerFunc(l.submit))
	control{store}.routes(mux)
	mux.Handle(provider.TokenEndpoint().Relative(), misbehave(store, provider))
	mux.Handle("/", provider)
	return mux, nil
}
