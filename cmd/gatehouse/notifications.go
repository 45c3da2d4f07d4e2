package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func init() {
	register(command{name: "notifications list", summary: "show a user's notifications", run: runNotificationsList})
}

// runNotificationsList is how an operator reads a user's notifications
// until the user portal and its API exist.
func runNotificationsList(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("notifications list", "--username NAME [flags]",
		"List a user's notifications, newest first (100 at most), and optionally mark them read.")
	username := fs.String("username", "", "whose notifications (required)")
	unread := fs.Bool("unread", false, "only notifications not yet read")
	markSeen := fs.Bool("mark-seen", false, "mark every listed notification read")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	return a.withScope(ctx, *tenant, func(x *app, sc store.Scope) error {
		u, err := findUser(ctx, sc, *username)
		if err != nil {
			return err
		}
		q := store.NotificationQuery{Page: store.Page{Size: store.MaxPageSize}}
		if *unread {
			q.Seen = new(bool)
		}
		list, total, err := sc.Notifications().ListForUser(ctx, u.ID, q)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CREATED\tSEVERITY\tSEEN\tBODY")
		for _, n := range list {
			body := strings.Join(strings.Fields(n.Body), " ")
			if r := []rune(body); len(r) > 100 {
				body = string(r[:99]) + "…"
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", n.CreatedAt.Format(time.RFC3339), n.Severity, n.Seen, body)
			if *markSeen && !n.Seen {
				if err := sc.Notifications().SetSeen(ctx, n.ID, true); err != nil {
					return err
				}
			}
		}
		tw.Flush()
		fmt.Fprintf(a.stdout, "%d of %d notifications\n", len(list), total)
		return nil
	})
}
