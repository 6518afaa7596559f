package config

import "strings"

// DefaultErasePath is where a Synerise profile is erased (GDPR art. 17), {clientId}
// standing for the profile's id. The contract assumes it, so SYNERISE_ERASE_PATH can
// change it.
const DefaultErasePath = "/v4/clients/{clientId}"

// eraseVariable documents SYNERISE_ERASE_PATH for Variables.
func eraseVariable() Variable {
	return Variable{"SYNERISE_ERASE_PATH", DefaultErasePath,
		"path the console sends DELETE to when a customer is erased; {clientId} (once, a whole segment) becomes the customer's id"}
}

// erasePath reads SYNERISE_ERASE_PATH: a path starting with /, no query, holding
// {clientId} exactly once as a whole segment.
func (r *envReader) erasePath() string {
	p := r.get("SYNERISE_ERASE_PATH", DefaultErasePath)
	switch {
	case !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?# \t\r\n"):
		r.bad("SYNERISE_ERASE_PATH", "want a path starting with / (no query, no spaces), got %q", p)
	case strings.Count(p, "{clientId}") != 1 || !strings.Contains(p+"/", "/{clientId}/"):
		r.bad("SYNERISE_ERASE_PATH", "want {clientId} once, as a whole path segment (e.g. %s), got %q", DefaultErasePath, p)
	}
	return p
}
