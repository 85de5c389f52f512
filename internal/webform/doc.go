// Package webform holds what gatehouse's server-rendered pages share: the
// CSRF tokens of their forms (an HMAC of the browser's cookies under a
// server key, with an Origin / Sec-Fetch-Site check) and the security
// headers of a page (no framing, no caching, a strict Content-Security-
// Policy). The hosted login pages (package authorize) and the admin
// console (package console) use the same code, so that one rule holds for
// both.
package webform
