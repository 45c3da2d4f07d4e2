package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func init() {
	register(command{name: "user create", summary: "create a user", run: runUserCreate})
	register(command{name: "user list", summary: "list users", run: runUserList})
	register(command{name: "user set-password", summary: "set a user's password (read from stdin)", run: runUserSetPassword})
	register(command{name: "user deactivate", summary: "deactivate a user and end their sessions", run: runUserDeactivate})
	register(command{name: "group create", summary: "create a group", run: runGroupCreate})
	register(command{name: "group add-member", summary: "add a user to a group", run: runGroupAddMember})
	register(command{name: "token create", summary: "create an API token or app password (printed once)", run: runTokenCreate})
}

var userFlags = map[string]string{"username": "--username", "email": "--email", "name": "--name",
	"type": "--type", "path": "--path", "password": "--password-stdin"}

// readPassword takes the first line of stdin, so passwords never appear in
// the process list or shell history. name says what was read, for errors.
func (a *cli) readPassword(name string) (string, error) {
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", usagef("%s: no password on standard input", name)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runUserCreate(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("user create", "--username NAME [flags]", "Create a user in the directory.")
	username := fs.String("username", "", "username (required; letters, digits, @ . + - _)")
	email := fs.String("email", "", "email address")
	name := fs.String("name", "", "display name")
	typ := fs.String("type", "internal", "internal, external, service_account or internal_service_account")
	path := fs.String("path", "users", "folder-like path")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	superuser := fs.Bool("superuser", false, "add the user to the 'gatehouse Admins' superuser group")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *username == "" {
		return usagef("--username is required")
	}
	pw := ""
	if *pwStdin {
		var err error
		if pw, err = a.readPassword("--password-stdin"); err != nil {
			return err
		}
	}
	return a.withScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		u := &store.User{Username: *username, Email: *email, Name: *name, Type: store.UserType(*typ), Path: *path, IsActive: true}
		w := x.as()
		err := sc.Tx(ctx, func(tx store.Scope) error {
			if err := w.CreateUser(ctx, tx, u, pw); err != nil {
				return err
			}
			if !*superuser {
				return nil
			}
			g, err := tx.Groups().GetByName(ctx, core.AdminGroupName)
			if errors.Is(err, store.ErrNotFound) {
				g = &store.Group{Name: core.AdminGroupName, IsSuperuser: true}
				err = w.CreateGroup(ctx, tx, g, nil)
			}
			if err != nil {
				return err
			}
			return w.AddMember(ctx, tx, g.ID, u.ID)
		})
		if err != nil {
			return describe(err, userFlags)
		}
		fmt.Fprintf(a.stdout, "created user %s (%s)\n", u.Username, u.ID)
		return nil
	})
}

func runUserList(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("user list", "[flags]", "List users, 100 per page.")
	search := fs.String("search", "", "only users whose username, name or email contains this")
	page := fs.Int("page", 1, "page number")
	asJSON := fs.Bool("json", false, "print JSON lines")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *page < 1 {
		return usagef("--page: must be 1 or more")
	}
	return a.withScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		users, total, err := sc.Users().List(ctx, store.UserQuery{Search: *search, Page: store.Page{Number: *page, Size: store.MaxPageSize}})
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(a.stdout)
			for _, u := range users {
				enc.Encode(map[string]any{"id": u.ID, "username": u.Username, "name": u.Name, "email": u.Email,
					"type": u.Type, "is_active": u.IsActive, "last_login": timeOrNil(u.LastLogin)})
			}
			return nil
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tNAME\tEMAIL\tTYPE\tACTIVE\tLAST LOGIN")
		for _, u := range users {
			last := "never"
			if !u.LastLogin.IsZero() {
				last = u.LastLogin.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\n", u.Username, u.Name, u.Email, u.Type, u.IsActive, last)
		}
		tw.Flush()
		fmt.Fprintf(a.stdout, "%d of %d users\n", len(users), total)
		return nil
	})
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// findUser looks a user up by --username.
func findUser(ctx context.Context, sc store.Scope, username string) (*store.User, error) {
	if username == "" {
		return nil, usagef("--username is required")
	}
	u, err := sc.Users().GetByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, usagef("--username: no user %q", username)
	}
	return u, err
}

func runUserSetPassword(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("user set-password", "--username NAME < password", "Set a user's password from the first line of standard input.")
	username := fs.String("username", "", "user to change (required)")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *username == "" {
		return usagef("--username is required")
	}
	pw, err := a.readPassword("password")
	if err != nil {
		return err
	}
	return a.withScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		u, err := findUser(ctx, sc, *username)
		if err != nil {
			return err
		}
		// This command has no --password-stdin flag: name the password itself.
		if err := x.as().ResetPassword(ctx, sc, u.ID, pw, uuid.Nil); err != nil {
			return describe(err, nil)
		}
		fmt.Fprintf(a.stdout, "password set for %s\n", u.Username)
		return nil
	})
}

func runUserDeactivate(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("user deactivate", "--username NAME", "Deactivate a user: they can no longer log in or use tokens, and their sessions end.")
	username := fs.String("username", "", "user to deactivate (required)")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	return a.withScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		u, err := findUser(ctx, sc, *username)
		if err != nil {
			return err
		}
		// The domain write announces it too: service accounts are
		// cached with their OAuth2 client.
		ended, err := x.as().DeactivateUser(ctx, sc, u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "deactivated %s (%d sessions ended)\n", u.Username, ended)
		return nil
	})
}

func runGroupCreate(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("group create", "--name NAME [flags]", "Create a group.")
	name := fs.String("name", "", "group name (required)")
	parent := fs.String("parent", "", "name of the parent group")
	superuser := fs.Bool("superuser", false, "members become superusers")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usagef("--name is required")
	}
	return a.withScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		g := &store.Group{Name: *name, IsSuperuser: *superuser}
		if *parent != "" {
			p, err := sc.Groups().GetByName(ctx, *parent)
			if errors.Is(err, store.ErrNotFound) {
				return usagef("--parent: no group %q", *parent)
			}
			if err != nil {
				return err
			}
			g.ParentID = uuid.NullUUID{UUID: p.ID, Valid: true}
		}
		if err := x.as().CreateGroup(ctx, sc, g, nil); err != nil {
			return describe(err, map[string]string{"name": "--name", "parent": "--parent", "attributes": "--attributes"})
		}
		fmt.Fprintf(a.stdout, "created group %s (%s)\n", g.Name, g.ID)
		return nil
	})
}

func runGroupAddMember(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("group add-member", "--group NAME --username NAME", "Add a user to a group.")
	group := fs.String("group", "", "group name (required)")
	username := fs.String("username", "", "user to add (required)")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *group == "" {
		return usagef("--group is required")
	}
	return a.withScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		u, err := findUser(ctx, sc, *username)
		if err != nil {
			return err
		}
		g, err := sc.Groups().GetByName(ctx, *group)
		if errors.Is(err, store.ErrNotFound) {
			return usagef("--group: no group %q", *group)
		}
		if err != nil {
			return err
		}
		if err := x.as().AddMember(ctx, sc, g.ID, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "added %s to %s\n", u.Username, g.Name)
		return nil
	})
}

func runTokenCreate(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("token create", "--username NAME [flags]", "Create a token for a user and print its secret once; only a hash is stored.")
	username := fs.String("username", "", "owner of the token (required)")
	identifier := fs.String("identifier", "", "unique name of the token (default: generated)")
	intent := fs.String("intent", "api", "api or app_password")
	expires := fs.String("expires", "", "lifetime, e.g. 720h or days=30 (default: never)")
	description := fs.String("description", "", "what the token is for")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *intent != string(store.IntentAPI) && *intent != string(store.IntentAppPassword) {
		return usagef("--intent: must be api or app_password, not %q", *intent)
	}
	// Without --expires the token never expires, as before; the API's
	// default (one day) is for tokens made without saying.
	never := false
	n := core.NewToken{Identifier: *identifier, Intent: store.TokenIntent(*intent), Description: *description, Expiring: &never}
	if *expires != "" {
		d, err := config.ParseDuration(*expires)
		if err != nil || d <= 0 {
			return usagef("--expires: %q is not a positive duration (e.g. 720h, days=30)", *expires)
		}
		at := time.Now().Add(d)
		n.Expires, n.Expiring = &at, nil
	}
	return a.withScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		u, err := findUser(ctx, sc, *username)
		if err != nil {
			return err
		}
		n.Owner = u.ID
		t, secret, err := x.as().CreateToken(ctx, sc, n)
		if err != nil {
			return describe(err, map[string]string{"identifier": "--identifier", "description": "--description", "expires": "--expires"})
		}
		fmt.Fprintf(a.stderr, "created token %s for %s; the secret below is shown only now:\n", t.Identifier, u.Username)
		fmt.Fprintln(a.stdout, secret)
		return nil
	})
}
