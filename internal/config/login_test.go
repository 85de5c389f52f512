package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateLogin(t *testing.T) {
	def := Default()
	if err := def.Validate(); err != nil && strings.Contains(err.Error(), "login") {
		t.Fatalf("the defaults are refused: %v", err)
	}
	bad := Default()
	bad.LoginCodeLifetime = 11 * time.Minute
	bad.LoginSessionLifetime = 0
	bad.RefreshTokenLifetime = time.Hour
	bad.RefreshTokenIdle = 2 * time.Hour
	bad.LoginFailureLimit = 0
	bad.LoginFailureWindow = 0
	err := bad.Validate()
	for _, want := range []string{"login-code-lifetime 11m0s", "login-session-lifetime 0s", "refresh-token-idle 2h0m0s must be at least 1m and at most refresh-token-lifetime (1h0m0s)",
		"login-failure-limit 0", "login-failure-window 0s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to say %q", err, want)
		}
	}
}

func TestLoginSettingsFromEnv(t *testing.T) {
	env := map[string]string{"GATEHOUSE_LOGIN_CODE_LIFETIME": "30s", "GATEHOUSE_REFRESH_TOKEN_IDLE": "48h", "GATEHOUSE_LOGIN_FAILURE_LIMIT": "3"}
	c, err := Load("", nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginCodeLifetime != 30*time.Second || c.RefreshTokenIdle != 48*time.Hour || c.LoginFailureLimit != 3 || c.RefreshTokenLifetime != 30*24*time.Hour {
		t.Errorf("loaded %+v", c)
	}
}
