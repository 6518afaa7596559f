// Package templates holds the console's templ components. Components take the view
// models in this file, never domain or database types.
package templates

import (
	"encoding/json"
	"net/url"
)

// Page is what every full page needs: the layout's header, navigation and flashes.
type Page struct {
	Title     string
	CSRF      string
	Operator  *Operator
	Nav       []NavItem
	Flashes   []Flash
	Sandbox   bool
	RequestID string
}

// HXHeaders is the JSON htmx sends as headers on every request: the CSRF token.
func (p Page) HXHeaders() string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": p.CSRF})
	return string(b)
}

// Operator is the signed-in person as the layout shows them.
type Operator struct {
	Name, Email, Role string
}

// NavItem is one link in the main navigation.
type NavItem struct {
	Label, Href string
	Current     bool
}

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	Kind string // success, error, info
	Text string
}

// FieldErrors maps a form field's name to its message.
type FieldErrors map[string]string

// Login is the sign-in form.
type Login struct {
	Email   string
	Error   string
	Notice  string
	Sandbox bool
	// Next is the page on this site a successful sign-in returns to; "" or "/" is home.
	Next string
	// SSOName names the OpenID provider on its sign-in button; empty when single sign-on
	// is off.
	SSOName string
	// Passkeys offers "Sign in with a passkey" (some operator has registered one).
	Passkeys bool
	// BreakGlassOnly says password sign-in is kept for break-glass operators only.
	BreakGlassOnly bool
}

// SSOAction starts single sign-on, coming back to Next.
func (f Login) SSOAction() string {
	if f.Next == "" || f.Next == "/" {
		return "/auth/oidc/start"
	}
	return "/auth/oidc/start?next=" + url.QueryEscape(f.Next)
}

// Action is the sign-in form's action: it carries Next to the POST, which redirects there.
func (f Login) Action() string {
	if f.Next == "" || f.Next == "/" {
		return "/login"
	}
	return "/login?next=" + url.QueryEscape(f.Next)
}

// ErrorView is a full-page or fragment error.
type ErrorView struct {
	Status    int
	Title     string
	Message   string
	RequestID string
}

// Home is the start page after sign-in.
type Home struct {
	Cards []HomeCard
}

// HomeCard links to one area the role may use.
type HomeCard struct {
	Title, Text, Href string
}

// Operators is the operator management page.
type Operators struct {
	Rows    []OperatorRow
	Form    NewOperator
	Errors  FieldErrors
	Created *CreatedOperator
	// Reset is set right after an admin reset an operator's password.
	Reset *ResetOperator
	Roles []string
}

// OperatorRow is one operator in the list.
type OperatorRow struct {
	ID       int64
	Email    string
	Name     string
	Role     string
	Disabled bool
	Locked   bool
	// MustChange is set while the operator's password is a one-time one.
	MustChange bool
	LastSignin string
	Self       bool
}

// NewOperator is the add-operator form as typed.
type NewOperator struct {
	Email, Name, Role string
}

// CreatedOperator shows a new operator's one-time password, once.
type CreatedOperator struct {
	Email, Password string
}
