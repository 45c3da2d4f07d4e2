package stage

import (
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Settings returns a stage's configuration as the stage runs it: every
// setting of its kind under Authentik's name, defaults filled in. What is
// stored holds only what a blueprint or an admin gave, so an API or a form
// showing it would show "false" for a setting that is on by default.
// Each kind's struct is its settings (all exported fields are JSON
// settings), so encoding the built stage is the answer; an invalid
// configuration is the factory's error.
func Settings(kind string, cfg json.RawMessage) (json.RawMessage, error) {
	f, ok := Kinds()[kind]
	if !ok {
		return nil, store.Invalid("kind", "unknown stage kind %q", kind)
	}
	s, err := f(cfg)
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}
