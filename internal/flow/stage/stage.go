// Package stage holds the stage kinds a flow can bind, one file each, with
// Authentik's names and settings (identification, password, prompt,
// user_write, user_login, user_logout, email, invitation, consent, deny,
// redirect, dummy). Kinds returns them for flow.NewExecutor.
package stage

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Kinds returns every stage kind by its Authentik name.
func Kinds() map[string]flow.Factory {
	return map[string]flow.Factory{
		"identification": newIdentification,
		"password":       newPassword,
		"prompt":         newPrompt,
		"user_write":     newUserWrite,
		"user_login":     newUserLogin,
		"user_logout":    newUserLogout,
		"email":          newEmail,
		"invitation":     newInvitation,
		"consent":        newConsent,
		"deny":           newDeny,
		"redirect":       newRedirect,
		"dummy":          newDummy,
		// Internal: the first stage of a plan resumed from an emailed link.
		kindEmailVerified: newEmailVerified,
	}
}

// decode reads a stage's settings over its defaults; wrong types are
// errors naming the setting. Unknown settings are skipped here, so a stage
// stored before they were refused still runs: writes (blueprints, the API)
// go through flow.Executor.ValidateStage, which refuses the settings a
// kind does not have, except the Authentik settings it accepts and
// ignores (ignored.go).
func decode(cfg json.RawMessage, v any) error {
	if len(cfg) == 0 {
		return nil
	}
	if err := json.Unmarshal(cfg, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return store.Invalid(te.Field, "must be %s, not %s", te.Type, te.Value)
		}
		return store.Invalid("config", "is not valid JSON")
	}
	return nil
}

// duration parses an Authentik duration setting ("minutes=30", "seconds=0").
func duration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, store.Invalid(field, "%q is not a duration (e.g. minutes=30, hours=1, 90s)", s)
	}
	return d, nil
}

func base(component string) flow.Base { return flow.Base{Component: component} }
