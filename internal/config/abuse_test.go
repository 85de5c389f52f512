package config

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestAbuseSettings(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	Bind(fs, Serve)
	if err := fs.Parse([]string{"--auth-failure-limit", "5", "--auth-failure-window", "30s", "--token-quota", "100/m,5000/d", "--token-quota-per-api", "10/s", "--audit-retention", "0"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load("", fs, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthFailureLimit != 5 || c.AuthFailureWindow != 30*time.Second || c.AuditRetention != 0 || len(c.TokenQuotaPolicies()) != 2 || len(c.TokenQuotaPerAPIPolicies()) != 1 {
		t.Errorf("loaded %+v", c)
	}
	d := Default()
	if d.AuthFailureLimit != 10 || d.AuthFailureWindow != time.Minute || d.AuditRetention != 90*24*time.Hour || d.TokenQuota != "" {
		t.Errorf("defaults %+v", d)
	}

	bad := Default()
	bad.AuditRetention, bad.AuthFailureLimit, bad.AuthFailureWindow, bad.TokenQuota, bad.TokenQuotaPerAPI = time.Minute, -1, 0, "5/week", "x"
	err = bad.Validate()
	for _, want := range []string{"audit-retention 1m0s must be 0", "auth-failure-limit -1", "auth-failure-window 0s", `token-quota: quota "5/week"`, `token-quota-per-api: quota "x"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to say %q", err, want)
		}
	}
	if _, err := Load("", nil, func(k string) string {
		if k == "GATEHOUSE_AUTH_FAILURE_LIMIT" {
			return "ten"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), `GATEHOUSE_AUTH_FAILURE_LIMIT: "ten" is not a whole number`) {
		t.Errorf("a bad env number: %v", err)
	}
}
