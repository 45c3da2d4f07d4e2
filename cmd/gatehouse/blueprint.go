package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func init() {
	register(command{name: "blueprint apply", summary: "apply a blueprint file (all or nothing)", run: runBlueprintApply})
}

// maxBlueprintFile bounds what is read; the parser has its own node limits.
const maxBlueprintFile = 4 << 20

func runBlueprintApply(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("blueprint apply", "[flags] FILE", "Apply an Authentik-format blueprint to a tenant in one transaction,\n"+
		"and print what changed. !Env tags read this command's environment.")
	tenant := tenantFlag(fs)
	// The file is the one positional argument: parse what precedes it.
	var file string
	if n := len(args); n > 0 && len(args[n-1]) > 0 && args[n-1][0] != '-' {
		file, args = args[n-1], args[:n-1]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if file == "" {
		return usagef("a blueprint FILE is required")
	}
	st, err := os.Stat(file)
	if err != nil {
		return usagef("%s: %v", file, errors.Unwrap(err))
	}
	if st.Size() > maxBlueprintFile {
		return usagef("%s: larger than %d MiB", file, maxBlueprintFile>>20)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return usagef("%s: %v", file, err)
	}
	bp, err := blueprint.Parse(file, data)
	if err != nil {
		return usagef("%v", err)
	}
	return a.withFullScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		res, err := x.full.ApplyBlueprint(ctx, sc, bp, a.env)
		if err != nil {
			return usagef("%v (nothing was changed)", err)
		}
		fmt.Fprintf(a.stdout, "created %d, updated %d, unchanged %d, deleted %d, skipped %d\n",
			res.Created, res.Updated, res.Unchanged, res.Deleted, res.Skipped)
		return nil
	})
}
