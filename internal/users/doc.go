// Package users holds what the login flow needs to know about people:
// password hashing with argon2id (RFC 9106) in the PHC string format, and
// the throttling of failed logins per user and per client address.
package users
