package synerise

import (
	"encoding/json"
	"math"
)

// Typed accessors for the known settings keys. A getter's ok is false when the key is
// missing or holds a value of another type (null included, except for the nullable
// strings). A setter replaces only that key's raw value, appending the key when missing.

func (s *Settings) getString(key string) (string, bool) {
	var v *string
	if raw, ok := s.vals[key]; !ok || json.Unmarshal(raw, &v) != nil || v == nil {
		return "", false
	}
	return *v, true
}

func (s *Settings) getInt(key string) (int, bool) {
	var f *float64
	if raw, ok := s.vals[key]; !ok || json.Unmarshal(raw, &f) != nil || f == nil {
		return 0, false
	}
	if *f != math.Trunc(*f) || math.Abs(*f) > math.MaxInt32 {
		return 0, false
	}
	return int(*f), true
}

func (s *Settings) getBool(key string) (bool, bool) {
	var v *bool
	if raw, ok := s.vals[key]; !ok || json.Unmarshal(raw, &v) != nil || v == nil {
		return false, false
	}
	return *v, true
}

// getNullableString returns (nil, true) for JSON null.
func (s *Settings) getNullableString(key string) (*string, bool) {
	raw, ok := s.vals[key]
	if !ok {
		return nil, false
	}
	var v *string
	if json.Unmarshal(raw, &v) != nil {
		return nil, false
	}
	return v, true
}

func (s *Settings) set(key string, v any) {
	raw, _ := json.Marshal(v) // strings, ints, bools and *string always encode
	_ = s.SetRaw(key, raw)
}

// RegistrationType reads registrationType (AUTOMATIC, REQUIRE_EMAIL_CONFIRMATION,
// REQUIRE_EMAIL_ACTIVATION, REQUIRE_PIN_CONFIRMATION, or a value unknown to the console).
func (s *Settings) RegistrationType() (string, bool) { return s.getString(KeyRegistrationType) }

// SetRegistrationType replaces registrationType.
func (s *Settings) SetRegistrationType(v string) { s.set(KeyRegistrationType, v) }

// PinConfirmationType reads pinConfirmationType (EVERYONE, ON_CONFLICT_WITH_EXTERNAL_ACCOUNT).
func (s *Settings) PinConfirmationType() (string, bool) { return s.getString(KeyPinConfirmationType) }

// SetPinConfirmationType replaces pinConfirmationType.
func (s *Settings) SetPinConfirmationType(v string) { s.set(KeyPinConfirmationType, v) }

// PinConfirmationLength reads pinConfirmationLength (digits in a PIN).
func (s *Settings) PinConfirmationLength() (int, bool) { return s.getInt(KeyPinConfirmationLength) }

// SetPinConfirmationLength replaces pinConfirmationLength.
func (s *Settings) SetPinConfirmationLength(v int) { s.set(KeyPinConfirmationLength, v) }

// PinConfirmationValidInSeconds reads pinConfirmationValidInSeconds (PIN lifetime).
func (s *Settings) PinConfirmationValidInSeconds() (int, bool) {
	return s.getInt(KeyPinConfirmationValidInSeconds)
}

// SetPinConfirmationValidInSeconds replaces pinConfirmationValidInSeconds.
func (s *Settings) SetPinConfirmationValidInSeconds(v int) {
	s.set(KeyPinConfirmationValidInSeconds, v)
}

// TokenLifetimeInSeconds reads tokenLifetimeInSeconds (customer JWT lifetime).
func (s *Settings) TokenLifetimeInSeconds() (int, bool) { return s.getInt(KeyTokenLifetimeInSeconds) }

// SetTokenLifetimeInSeconds replaces tokenLifetimeInSeconds.
func (s *Settings) SetTokenLifetimeInSeconds(v int) { s.set(KeyTokenLifetimeInSeconds, v) }

// ConfirmationRedirectLink reads confirmationRedirectLink; nil when null.
func (s *Settings) ConfirmationRedirectLink() (*string, bool) {
	return s.getNullableString(KeyConfirmationRedirectLink)
}

// SetConfirmationRedirectLink replaces confirmationRedirectLink; nil writes null.
func (s *Settings) SetConfirmationRedirectLink(v *string) { s.set(KeyConfirmationRedirectLink, v) }

// VoucherPoolUUID reads voucherPoolUuid; nil when null.
func (s *Settings) VoucherPoolUUID() (*string, bool) { return s.getNullableString(KeyVoucherPoolUUID) }

// SetVoucherPoolUUID replaces voucherPoolUuid; nil writes null.
func (s *Settings) SetVoucherPoolUUID(v *string) { s.set(KeyVoucherPoolUUID, v) }

// AllowOverwriteCustomIdentify reads allowOverwriteCustomIdentify.
func (s *Settings) AllowOverwriteCustomIdentify() (bool, bool) {
	return s.getBool(KeyAllowOverwriteCustomIdentify)
}

// SetAllowOverwriteCustomIdentify replaces allowOverwriteCustomIdentify.
func (s *Settings) SetAllowOverwriteCustomIdentify(v bool) {
	s.set(KeyAllowOverwriteCustomIdentify, v)
}

// AllowEmailChangeFromWebForm reads allowEmailChangeFromWebForm.
func (s *Settings) AllowEmailChangeFromWebForm() (bool, bool) {
	return s.getBool(KeyAllowEmailChangeFromWebForm)
}

// SetAllowEmailChangeFromWebForm replaces allowEmailChangeFromWebForm.
func (s *Settings) SetAllowEmailChangeFromWebForm(v bool) {
	s.set(KeyAllowEmailChangeFromWebForm, v)
}

// AllowPinResendFromDifferentDeviceID reads allowPinResendFromDifferentDeviceId.
func (s *Settings) AllowPinResendFromDifferentDeviceID() (bool, bool) {
	return s.getBool(KeyAllowPinResendFromDifferentDeviceID)
}

// SetAllowPinResendFromDifferentDeviceID replaces allowPinResendFromDifferentDeviceId.
func (s *Settings) SetAllowPinResendFromDifferentDeviceID(v bool) {
	s.set(KeyAllowPinResendFromDifferentDeviceID, v)
}
