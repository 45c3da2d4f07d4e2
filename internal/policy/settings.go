package policy

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Settings returns a policy's configuration with its kind's defaults
// filled in, under Authentik's names, so an API shows what will run rather
// than only what was stored. Settings the evaluator does not hold
// (execution_logging, the expression's source) are kept as stored.
func Settings(kind string, cfg json.RawMessage) (json.RawMessage, error) {
	compile, ok := Kinds(time.Now)[kind]
	if !ok {
		return nil, store.Invalid("kind", "unknown policy kind %q", kind)
	}
	ev, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	var shown any = ev
	switch p := ev.(type) {
	case passwordPolicy:
		shown = p.cfg
	case expressionPolicy:
		shown = struct{}{} // a compiled program; the source is in cfg
	}
	out := map[string]any{}
	if len(cfg) > 0 {
		if err := json.Unmarshal(cfg, &out); err != nil {
			return nil, store.Invalid("config", "is not a JSON object")
		}
	}
	b, err := json.Marshal(shown)
	if err != nil {
		return nil, err
	}
	// Unmarshalling into the map lays the evaluator's values over the stored ones.
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// Test evaluates one policy against req and returns its error instead of
// turning it into a binding's failure result: an admin testing a policy
// wants to see why it failed. The policy runs for real (an expiry policy
// may mark the user's password unusable), as Authentik's test does.
func (e *Engine) Test(ctx context.Context, req *Request, p *store.Object) (Result, error) {
	ev, err := e.compiled(p)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return safeEvaluate(e.WithRecorder(ctx), ev, req)
}
