// Package blueprints holds the blueprints gatehouse ships: the default
// flows, stages and policies every tenant starts with, in Authentik's
// blueprint format. internal/blueprint applies them (ApplyDefaults).
package blueprints

import "embed"

// Default holds default/*.yaml, applied to every tenant at start-up in
// file-name order, creating only what is missing.
//
//go:embed default/*.yaml
var Default embed.FS
