package templates

// PasswordForm is the form where an operator changes their password. It never carries a
// password back to the page.
type PasswordForm struct {
	// Forced is set while the operator's password is a one-time one: the form is then
	// the only page they may use.
	Forced bool
	Errors FieldErrors
	// MinLength is the shortest password the policy accepts.
	MinLength int
}

// ResetOperator shows the new one-time password an admin issued, once.
type ResetOperator struct {
	Email, Password string
}
