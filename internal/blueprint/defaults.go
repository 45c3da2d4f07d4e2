package blueprint

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"slices"

	"github.com/gatehouse-id/gatehouse/blueprints"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Defaults parses the embedded default blueprints, in the order they are
// applied (by file name).
func Defaults() ([]*Blueprint, error) {
	names, err := fs.Glob(blueprints.Default, "default/*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]*Blueprint, 0, len(names))
	for _, n := range names {
		data, err := fs.ReadFile(blueprints.Default, n)
		if err != nil {
			return nil, err
		}
		bp, err := Parse(path.Base(n), data)
		if err != nil {
			return nil, err
		}
		out = append(out, bp)
	}
	return out, nil
}

// ApplyDefaults applies the embedded default blueprints to the tenant of
// sc with opt.OnlyCreate set: what is missing is created, what exists
// (perhaps edited by an admin) is left alone. Run it at every start.
// Blueprints labelled instantiate: "false" are skipped.
//
// Each blueprint is its own transaction: one that cannot be applied (say an
// admin gave a default stage's name to a stage of another kind) is rolled
// back and reported in the error, and the others are still applied; the
// Result counts what succeeded.
func ApplyDefaults(ctx context.Context, sc store.Scope, opt Options) (Result, error) {
	bps, err := Defaults()
	if err != nil {
		return Result{}, err
	}
	opt.OnlyCreate = true
	var total Result
	var errs []error
	for _, bp := range bps {
		if !bp.Instantiate() {
			continue
		}
		r, err := applyRetrying(ctx, sc, bp, opt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		total.add(r)
	}
	return total, errors.Join(errs...)
}

// applyRetrying applies bp again after a conflict: two replicas starting
// together may both create the same default, and the loser's second try
// finds it in place.
func applyRetrying(ctx context.Context, sc store.Scope, bp *Blueprint, opt Options) (Result, error) {
	for attempt := 1; ; attempt++ {
		r, err := Apply(ctx, sc, bp, opt)
		if err == nil || !errors.Is(err, store.ErrConflict) || attempt == 3 {
			return r, err
		}
	}
}
