package config

import (
	"strings"
	"testing"
	"time"
)

func TestAuditTokenRetention(t *testing.T) {
	if d := Default().AuditTokenRetention; d != 7*24*time.Hour {
		t.Errorf("default audit-token-retention %s, want 7 days", d)
	}
	for _, tc := range []struct {
		name             string
		retention, token time.Duration
		wantErr          string
	}{
		{"the default", 90 * 24 * time.Hour, 7 * 24 * time.Hour, ""},
		{"0: as the others", 90 * 24 * time.Hour, 0, ""},
		{"events kept forever, tokens a week", 0, 7 * 24 * time.Hour, ""},
		{"under an hour", 90 * 24 * time.Hour, time.Minute, "audit-token-retention 1m0s must be 0"},
		{"longer than the others", 24 * time.Hour, 48 * time.Hour, "at most audit-retention (24h0m0s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.AuditRetention, c.AuditTokenRetention = tc.retention, tc.token
			err := c.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Validate() = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
