package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// settingRule is one key of the RaaS general settings: its default and its check.
type settingRule struct {
	def   string                       // default, as JSON
	check func(json.RawMessage) string // returns a problem, or ""
}

// Registration types and PIN confirmation types the simulator knows.
var (
	RegistrationTypes    = []string{"AUTOMATIC", "REQUIRE_EMAIL_CONFIRMATION", "REQUIRE_EMAIL_ACTIVATION", "REQUIRE_PIN_CONFIRMATION"}
	PINConfirmationTypes = []string{"EVERYONE", "ON_CONFLICT_WITH_EXTERNAL_ACCOUNT"}
)

// settingRules: the keys of the contract's table plus two the console does
// not model (passwordResetMailSubject, maxLoginAttempts), which reset to
// their defaults when not sent like every other key.
var settingRules = map[string]settingRule{
	"registrationType":                    {`"AUTOMATIC"`, enumCheck(RegistrationTypes)},
	"tokenLifetimeInSeconds":              {`3600`, intCheck(60, 31536000)},
	"confirmationRedirectLink":            {`null`, nullable(urlCheck)},
	"voucherPoolUuid":                     {`null`, nullable(uuidCheck)},
	"allowOverwriteCustomIdentify":        {`false`, boolCheck},
	"allowEmailChangeFromWebForm":         {`false`, boolCheck},
	"pinConfirmationType":                 {`"ON_CONFLICT_WITH_EXTERNAL_ACCOUNT"`, enumCheck(PINConfirmationTypes)},
	"pinConfirmationLength":               {`6`, intCheck(4, 12)},
	"pinConfirmationValidInSeconds":       {`300`, intCheck(30, 86400)},
	"allowPinResendFromDifferentDeviceId": {`false`, boolCheck},
	"passwordResetMailSubject":            {`"Reset your password"`, stringCheck(1, 200)},
	"maxLoginAttempts":                    {`5`, intCheck(1, 100)},
}

// SettingKeys lists the settings keys the simulator stores, sorted.
func SettingKeys() []string { return slices.Sorted(maps.Keys(settingRules)) }

func defaultSettings() map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(settingRules))
	for k, r := range settingRules {
		out[k] = json.RawMessage(r.def)
	}
	return out
}

func enumCheck(values []string) func(json.RawMessage) string {
	return func(raw json.RawMessage) string {
		var v string
		if json.Unmarshal(raw, &v) != nil || !slices.Contains(values, v) {
			return fmt.Sprintf("must be one of %v", values)
		}
		return ""
	}
}

func intCheck(lo, hi int64) func(json.RawMessage) string {
	return func(raw json.RawMessage) string {
		n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
		if err != nil || n < lo || n > hi {
			return fmt.Sprintf("must be a whole number from %d to %d", lo, hi)
		}
		return ""
	}
}

func boolCheck(raw json.RawMessage) string {
	var b bool
	if json.Unmarshal(raw, &b) != nil || isNull(raw) {
		return "must be true or false"
	}
	return ""
}

func stringCheck(lo, hi int) func(json.RawMessage) string {
	return func(raw json.RawMessage) string {
		var v string
		if json.Unmarshal(raw, &v) != nil || isNull(raw) || len([]rune(v)) < lo || len([]rune(v)) > hi {
			return fmt.Sprintf("must be a string of %d to %d characters", lo, hi)
		}
		return ""
	}
}

func nullable(check func(json.RawMessage) string) func(json.RawMessage) string {
	return func(raw json.RawMessage) string {
		if isNull(raw) {
			return ""
		}
		return check(raw)
	}
}

func urlCheck(raw json.RawMessage) string {
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return "must be an absolute URL or null"
	}
	u, err := url.Parse(v)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "must be an absolute http(s) URL or null"
	}
	return ""
}

func uuidCheck(raw json.RawMessage) string {
	var v string
	if json.Unmarshal(raw, &v) != nil || !uuidPattern.MatchString(v) {
		return "must be a UUID or null"
	}
	return ""
}

// Settings returns a copy of the current raw settings object.
func (s *Simulator) Settings() map[string]json.RawMessage {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.settings)
}

// SetSettings replaces the settings exactly as POST /sauth/settings/general
// does: keys not given reset to their defaults, unknown keys are ignored.
func (s *Simulator) SetSettings(in map[string]json.RawMessage) ([]FieldError, map[string]json.RawMessage) {
	next, errs := buildSettings(in)
	if len(errs) > 0 {
		return errs, nil
	}
	s.mu.Lock()
	s.settings = next
	s.mu.Unlock()
	return nil, maps.Clone(next)
}

func buildSettings(in map[string]json.RawMessage) (map[string]json.RawMessage, []FieldError) {
	next := defaultSettings()
	var errs []FieldError
	for _, k := range SettingKeys() {
		raw, ok := in[k]
		if !ok {
			continue
		}
		if msg := settingRules[k].check(raw); msg != "" {
			errs = append(errs, FieldError{Code: CodeInvalid, Field: k, Message: msg, RejectedValue: rejected(raw)})
			continue
		}
		next[k] = compact(raw)
	}
	return next, errs
}

func (s *Simulator) handleSettingsGet(req *request) {
	writeJSON(req.w, http.StatusOK, s.Settings())
}

func (s *Simulator) handleSettingsSet(req *request) {
	obj, ok := s.readObject(req)
	if !ok {
		return
	}
	errs, next := s.SetSettings(obj)
	if len(errs) > 0 {
		s.fail(req, http.StatusBadRequest, "Invalid settings.", errs)
		return
	}
	writeJSON(req.w, http.StatusOK, next)
}

// settingInt reads an integer setting; callers hold s.mu.
func (s *Simulator) settingInt(key string) int {
	n, err := strconv.Atoi(string(s.settings[key]))
	if err != nil {
		n, _ = strconv.Atoi(settingRules[key].def)
	}
	return n
}

// settingBool reads a boolean setting; callers hold s.mu.
func (s *Simulator) settingBool(key string) bool {
	return string(s.settings[key]) == "true"
}

// settingString reads a string setting ("" when null); callers hold s.mu.
func (s *Simulator) settingString(key string) string {
	var v string
	json.Unmarshal(s.settings[key], &v)
	return v
}
