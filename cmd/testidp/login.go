package main

import (
	"context"
	"html/template"
	"net/http"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	loginPath     = "/login"
	sessionCookie = "testidp_session"
)

// loginPage asks for e-mail and password. It works for a browser and for a plain HTTP
// client: the form posts the request id back with the credentials.
var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in — test identity provider</title></head>
<body>
<main>
<h1>Sign in to the test identity provider</h1>
{{if .Error}}<p role="alert" id="login-error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.ID}}">
<p><label for="email">E-mail</label>
<input id="email" name="email" type="email" autocomplete="username" required value="{{.Email}}"></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit" name="action" value="sign-in">Sign in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button></p>
</form>
</main>
</body>
</html>
`))

type loginView struct {
	ID, Email, Error string
}

// login is the provider's sign-in UI.
type login struct {
	store    *storage
	provider *op.Provider
	callback func(context.Context, string) string
	now      func() time.Time
}

// show renders the form, or completes the request at once from the provider's own
// session when prompt and max_age allow it.
func (l *login) show(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	req, ok := l.store.pending(id)
	if !ok {
		http.Error(w, "unknown authorization request", http.StatusBadRequest)
		return
	}
	if sess, ok := l.session(r); ok && !req.forcesLogin(sess.authTime, l.now()) {
		if u, ok := l.store.userByEmail(sess.email); ok {
			l.store.complete(id, u, sess.authTime)
			http.Redirect(w, r, l.callback(r.Context(), id), http.StatusFound)
			return
		}
	}
	if req.promptNone() {
		op.AuthRequestError(w, r, req, oidc.ErrLoginRequired(), l.provider)
		return
	}
	render(w, loginView{ID: id}, http.StatusOK)
}

// submit checks the password (or cancels: the client gets error=access_denied).
func (l *login) submit(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("id")
	req, ok := l.store.pending(id)
	if !ok {
		http.Error(w, "unknown authorization request", http.StatusBadRequest)
		return
	}
	if r.PostFormValue("action") == "cancel" {
		op.AuthRequestError(w, r, req, oidc.ErrAccessDenied().WithDescription("the user cancelled the sign-in"), l.provider)
		return
	}
	email := r.PostFormValue("email")
	u, ok := l.store.checkPassword(email, r.PostFormValue("password"))
	if !ok {
		render(w, loginView{ID: id, Email: email, Error: "Wrong e-mail or password."}, http.StatusUnauthorized)
		return
	}
	now := l.now()
	l.store.complete(id, u, now)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: l.store.startSession(u.Email, now),
		Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, l.callback(r.Context(), id), http.StatusFound)
}

func (l *login) session(r *http.Request) (loginSession, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return loginSession{}, false
	}
	return l.store.sessionByID(c.Value)
}

func render(w http.ResponseWriter, v loginView, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, v)
}
