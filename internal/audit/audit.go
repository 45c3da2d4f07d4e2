// Package audit is the one way events are recorded: it adds what the
// request says (client IP, method, path, user agent, request ID), masks
// secrets in the event's context, writes the event to the tenant's log and
// tells the metrics. Features call a flow.EventWriter-shaped function and
// never the store directly, so no event escapes masking. Retention (the
// hourly deletion of expired events) lives here too, beside the writer
// that gives events their expiry through the store.
//
// Masking follows Authentik's cleanse_dict: any key whose name contains
// API, TOKEN, KEY, SECRET, PASS, SIGNATURE or PWD (any case), and here
// also AUTHORIZATION, COOKIE or CREDENTIAL, has its value replaced at any
// depth (booleans and nulls are kept). A feature that records a secret
// under another name is a bug the end-to-end secret scan looks for.
package audit

import (
	"context"
	"log/slog"
	"regexp"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Masked replaces a secret's value.
const Masked = "********"

var sensitive = regexp.MustCompile(`(?i)api|token|key|secret|pass|signature|pwd|authorization|cookie|credential`)

// Writer records events. Recorded, when set, is told each stored action.
type Writer struct {
	Log      *slog.Logger
	Recorded func(action string)
	// Notify, when set, is given each stored event (notification rules);
	// it must return quickly, as it runs on the request path.
	Notify func(ctx context.Context, sc store.Scope, e *store.Event)
}

// Record stores e in sc's tenant. Failure to record is logged, not
// returned: an audit hiccup must not fail a login.
func (w *Writer) Record(ctx context.Context, sc store.Scope, e *store.Event) {
	if err := Create(ctx, sc, e); err != nil {
		w.Log.Warn("event not recorded", "action", e.Action, "error", err)
		return
	}
	if w.Recorded != nil {
		w.Recorded(e.Action)
	}
	if w.Notify != nil {
		w.Notify(ctx, sc, e)
	}
}

// Create adds the request to e, masks it and stores it, returning the
// store's error. It is for callers that must report failure (expression
// policies' ak_create_event); features use a Writer.
func Create(ctx context.Context, sc store.Scope, e *store.Event) error {
	info := httpx.From(ctx)
	if e.ClientIP == "" {
		e.ClientIP = info.ClientIP
	}
	if e.UserAgent == "" {
		e.UserAgent = info.UserAgent
	}
	e.Context = Mask(e.Context)
	if info.RequestID != "" {
		if _, set := e.Context["http_request"]; !set {
			e.Context["http_request"] = map[string]any{"method": info.Method, "path": info.Path,
				"user_agent": info.UserAgent, "request_id": info.RequestID}
		}
	}
	return sc.Events().Create(ctx, e)
}

// Mask returns a copy of m with secret values replaced, at any depth.
func Mask(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sensitive.MatchString(k) {
			// A yes/no ("passing", "password_set") reveals nothing and
			// is often the point of the event.
			if _, isBool := v.(bool); !isBool && v != nil {
				out[k] = Masked
				continue
			}
		}
		out[k] = maskValue(v)
	}
	return out
}

func maskValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return Mask(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskValue(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Mask(e)
		}
		return out
	}
	return v
}
