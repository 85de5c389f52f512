package config

import (
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/throttle"
)

// TokenQuotaPolicies returns the parsed --token-quota (nil when empty or
// invalid; Validate reports the latter).
func (c *Config) TokenQuotaPolicies() []throttle.Policy { return policies(c.TokenQuota) }

// TokenQuotaPerAPIPolicies returns the parsed --token-quota-per-api.
func (c *Config) TokenQuotaPerAPIPolicies() []throttle.Policy { return policies(c.TokenQuotaPerAPI) }

func policies(s string) []throttle.Policy {
	p, err := throttle.ParsePolicies(s)
	if err != nil {
		return nil
	}
	return p
}

// validateAbuse checks the audit retention, the brute-force limits and the
// token quota.
func (c *Config) validateAbuse() []error {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if c.AuditRetention != 0 && c.AuditRetention < time.Hour {
		bad("audit-retention %s must be 0 (keep forever) or at least 1h", c.AuditRetention)
	}
	if c.AuditTokenRetention != 0 && (c.AuditTokenRetention < time.Hour || (c.AuditRetention != 0 && c.AuditTokenRetention > c.AuditRetention)) {
		bad("audit-token-retention %s must be 0 (as audit-retention) or at least 1h and at most audit-retention (%s)", c.AuditTokenRetention, c.AuditRetention)
	}
	if c.AuthFailureLimit < 0 || c.AuthFailureLimit > 1_000_000 {
		bad("auth-failure-limit %d must be between 0 (off) and 1000000", c.AuthFailureLimit)
	}
	if c.AuthFailureWindow < time.Second || c.AuthFailureWindow > 24*time.Hour {
		bad("auth-failure-window %s must be between 1s and 24h", c.AuthFailureWindow)
	}
	if _, err := throttle.ParsePolicies(c.TokenQuota); err != nil {
		bad("token-quota: %v", err)
	}
	if _, err := throttle.ParsePolicies(c.TokenQuotaPerAPI); err != nil {
		bad("token-quota-per-api: %v", err)
	}
	return problems
}
