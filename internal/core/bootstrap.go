package core

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// BootstrapOptions come from AUTHENTIK_BOOTSTRAP_* / GATEHOUSE_BOOTSTRAP_*.
type BootstrapOptions struct {
	Password string
	Email    string
	Token    string
}

// BootstrapResult says what Bootstrap did, so the caller can tell the
// operator where to go next.
type BootstrapResult struct {
	CreatedAdmin bool
	CreatedToken bool
	// NeedsSetup is true while akadmin has no usable password: the
	// initial-setup flow is the way in.
	NeedsSetup bool
}

// Bootstrap makes sure the tenant has its superuser group and akadmin.
// Like Authentik's bootstrap blueprint (state: created), it only creates:
// a later change of the bootstrap password does not overwrite a password
// the admin has set since, and a deleted akadmin in a tenant that already
// has users is not brought back.
func (c *Core) Bootstrap(ctx context.Context, sc store.Scope, o BootstrapOptions) (BootstrapResult, error) {
	var res BootstrapResult
	err := sc.Tx(ctx, func(tx store.Scope) error {
		admins, err := tx.Groups().GetByName(ctx, AdminGroupName)
		if errors.Is(err, store.ErrNotFound) {
			admins = &store.Group{Name: AdminGroupName, IsSuperuser: true}
			err = tx.Groups().Create(ctx, admins)
		}
		if err != nil {
			return err
		}
		admin, err := tx.Users().GetByUsername(ctx, AdminUsername)
		if errors.Is(err, store.ErrNotFound) {
			n, cerr := tx.Users().Count(ctx)
			if cerr != nil {
				return cerr
			}
			if n > 0 {
				return nil // akadmin was deleted on purpose
			}
			email := o.Email
			if email == "" && o.Password != "" {
				email = "root@example.com" // Authentik's default bootstrap email
			}
			admin = &store.User{Username: AdminUsername, Name: "gatehouse Default Admin", Email: email,
				Type: store.UserInternal, IsActive: true}
			if err := c.CreateUser(ctx, tx, admin, o.Password); err != nil {
				return err
			}
			if err := tx.Groups().AddMember(ctx, admins.ID, admin.ID); err != nil {
				return err
			}
			res.CreatedAdmin = true
		} else if err != nil {
			return err
		}
		res.NeedsSetup = !admin.HasUsablePassword()
		if o.Token == "" {
			return nil
		}
		if _, err := tx.Tokens().GetByIdentifier(ctx, admin.ID, BootstrapTokenID); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		t := &store.Token{Identifier: BootstrapTokenID, Intent: store.IntentAPI, UserID: admin.ID,
			Description: "Created from AUTHENTIK_BOOTSTRAP_TOKEN / GATEHOUSE_BOOTSTRAP_TOKEN"}
		if _, err := c.CreateToken(ctx, tx, t, o.Token); err != nil {
			return err
		}
		res.CreatedToken = true
		return nil
	})
	return res, err
}
