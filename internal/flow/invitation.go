package flow

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// KeyInvitationInEffect is Authentik's invitation_in_effect: expression
// policies read it to tell invited sign-ups apart.
const KeyInvitationInEffect = "invitation_in_effect"

// An invitation opens a flow in one of two ways: the flow's invitation
// stage accepts it, or it is the ?itoken= that opens a sign-up flow closed
// to the public (closedToPublic). Either way AdmitInvitation puts it in
// effect, and the user_write stage redeems it with Invitations.Use in the
// transaction that writes the user: there its expiry is checked again and
// a single-use invitation is consumed, exactly once, whatever flow it
// opened.

// LiveInvitation returns the invitation token names if it can open x's
// flow now: it exists in this tenant, has not expired, and is for this
// flow or for any. Nil, without an error, for anything else.
func LiveInvitation(ctx context.Context, x *Execution, token string) (*store.Invitation, error) {
	id, err := uuid.Parse(token)
	if err != nil {
		return nil, nil
	}
	inv, err := x.Scope.Invitations().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !inv.Expires.IsZero() && !x.Env.Now().Before(inv.Expires) {
		return nil, nil
	}
	if inv.FlowSlug != "" && inv.FlowSlug != x.Flow.Slug {
		return nil, nil
	}
	return inv, nil
}

// AdmitInvitation puts inv in effect for the plan: its fixed data fills
// the answers (prompts show them pre-filled) and user_write will redeem it.
func (x *Execution) AdmitInvitation(inv *store.Invitation) {
	x.Plan.Context[KeyInvitation] = inv.ID.String()
	x.Plan.Context[KeyInvitationInEffect] = true
	data := x.Plan.Context.PromptData()
	for k, v := range inv.FixedData {
		data[k] = v
	}
}

// ErrInvitationUsed is RedeemInvitation's answer for an invitation that
// was used up, deleted or expired since the flow admitted it.
var ErrInvitationUsed = errors.New("invitation used up or expired")

// RedeemInvitation redeems the invitation in effect, if any, through tx
// (the transaction that writes the user, so a failed write consumes
// nothing). It returns the invitation, nil when none is in effect.
func RedeemInvitation(ctx context.Context, x *Execution, tx store.Scope) (*store.Invitation, error) {
	s := x.Plan.Context.String(KeyInvitation)
	if s == "" {
		return nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return nil, ErrInvitationUsed
	}
	inv, err := tx.Invitations().Use(ctx, id, x.Flow.Slug, x.Env.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvitationUsed
	}
	return inv, err
}

// InvitationRedeemed takes the redeemed invitation out of the plan, so a
// second user_write in the flow does not redeem it again.
func (x *Execution) InvitationRedeemed() { delete(x.Plan.Context, KeyInvitation) }
