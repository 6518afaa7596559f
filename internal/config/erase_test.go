package config

import (
	"strings"
	"testing"
)

func TestErasePath(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil || c.SyneriseErasePath != "/v4/clients/{clientId}" {
		t.Fatalf("default %q, %v", c.SyneriseErasePath, err)
	}
	c, err = Load(env(map[string]string{"SYNERISE_ERASE_PATH": "/gdpr/profiles/{clientId}/erase"}))
	if err != nil || c.SyneriseErasePath != "/gdpr/profiles/{clientId}/erase" {
		t.Fatalf("set %q, %v", c.SyneriseErasePath, err)
	}
	for _, bad := range []string{"v4/clients/{clientId}", "/v4/clients", "/v4/{clientId}/{clientId}", "/v4/x{clientId}", "/v4/clients/{clientId}?hard=1"} {
		_, err := Load(env(map[string]string{"SYNERISE_ERASE_PATH": bad}))
		if err == nil || !strings.Contains(err.Error(), "SYNERISE_ERASE_PATH") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	found := false
	for _, v := range Variables() {
		found = found || v.Name == "SYNERISE_ERASE_PATH"
	}
	if !found {
		t.Error("SYNERISE_ERASE_PATH is not documented in Variables")
	}
}
