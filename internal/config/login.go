package config

import (
	"fmt"
	"time"
)

// validateLogin checks the login flow's settings: a code lives at most ten
// minutes (RFC 6749 §4.1.2), lifetimes are positive and whole seconds, a
// refresh token's idle time does not exceed its absolute lifetime, and the
// failed-login throttle is on.
func (c *Config) validateLogin() []error {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if c.LoginCodeLifetime < time.Second || c.LoginCodeLifetime > 10*time.Minute {
		bad("login-code-lifetime %s must be between 1s and 10m (RFC 6749 §4.1.2)", c.LoginCodeLifetime)
	}
	if c.LoginSessionLifetime < time.Minute || c.LoginSessionLifetime > 90*24*time.Hour {
		bad("login-session-lifetime %s must be between 1m and 2160h (90 days)", c.LoginSessionLifetime)
	}
	if c.RefreshTokenLifetime < time.Minute || c.RefreshTokenLifetime > 365*24*time.Hour {
		bad("refresh-token-lifetime %s must be between 1m and 8760h (a year)", c.RefreshTokenLifetime)
	}
	if c.RefreshTokenIdle < time.Minute || c.RefreshTokenIdle > c.RefreshTokenLifetime {
		bad("refresh-token-idle %s must be at least 1m and at most refresh-token-lifetime (%s)", c.RefreshTokenIdle, c.RefreshTokenLifetime)
	}
	if c.LoginFailureLimit < 1 || c.LoginFailureLimit > 1000 {
		bad("login-failure-limit %d must be between 1 and 1000 (failed logins are always throttled)", c.LoginFailureLimit)
	}
	if c.LoginFailureWindow < time.Second || c.LoginFailureWindow > 24*time.Hour {
		bad("login-failure-window %s must be between 1s and 24h", c.LoginFailureWindow)
	}
	return problems
}
