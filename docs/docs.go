// Package docs embeds the documents the server serves: the OpenAPI 3.1
// description of the management API (openapi.json), which the management
// API publishes at /api/v2/openapi.json and its tests hold to its routes.
package docs

import _ "embed"

// OpenAPI is docs/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte
