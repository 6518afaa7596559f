package session

import "time"

// Values a signed-in session keeps beside OperatorKey. Numbers come back from the
// database as JSON numbers: read times with Time.
const (
	// MethodKey is how the operator signed in: "password", "sso" or "passkey".
	MethodKey = "auth_method"
	// FactorAtKey is when the operator last proved a second factor (Unix seconds): at
	// sign-in, at enrolment or at a step-up. Step-up needs it within the window.
	FactorAtKey = "factor_at"
	// AuthTimeKey is, for single sign-on, the provider's auth_time (Unix seconds).
	AuthTimeKey = "auth_time"
	// GroupsKey is, for single sign-on, the provider groups read at sign-in ([]string), so
	// a changed role map applies to the live session at its next request.
	GroupsKey = "sso_groups"
	// EnrolKey is true while the operator must enrol a second factor before anything else.
	EnrolKey = "mfa_enrol_required"
	// PendingKey holds, in a session not yet signed in, the operator whose password was
	// right and who must now give a second factor; PendingAtKey is when (Unix seconds) and
	// PendingNextKey the page to go to afterwards.
	PendingKey     = "pending_operator"
	PendingAtKey   = "pending_at"
	PendingNextKey = "pending_next"
	// ClientIPKey and UserAgentKey are where and with what the session was started; the
	// store writes them to their own columns for the sessions page.
	ClientIPKey  = "_client_ip"
	UserAgentKey = "_user_agent"
)

// Time reads a Unix-seconds value as stored under key; zero when absent.
func Time(values map[any]any, key string) time.Time {
	switch v := values[key].(type) {
	case int64:
		return time.Unix(v, 0)
	case float64:
		return time.Unix(int64(v), 0)
	case int:
		return time.Unix(int64(v), 0)
	}
	return time.Time{}
}

// Int64 reads an integer value as stored under key (JSON gives float64 back).
func Int64(values map[any]any, key string) (int64, bool) {
	switch v := values[key].(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	case int:
		return int64(v), true
	}
	return 0, false
}
