package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Token is Authentik's token serializer. The secret is in Key only in the
// answer to the create request: the store keeps a hash, so Authentik's
// core/tokens/{identifier}/view_key/ cannot exist here, and a lost key
// means a new token.
type Token struct {
	PK          uuid.UUID  `json:"pk"`
	Identifier  string     `json:"identifier"`
	Intent      string     `json:"intent" enum:"api,app_password,recovery,verification"`
	User        uuid.UUID  `json:"user"`
	Description string     `json:"description"`
	Expires     *time.Time `json:"expires"`
	Expiring    bool       `json:"expiring"`
	Created     time.Time  `json:"created"`
	Key         string     `json:"key,omitempty" doc:"the secret, in the create response only; it is stored hashed and cannot be shown again"`
}

func (t Token) Meta() Meta { return Meta{ID: t.PK, Name: t.Identifier} }

// TokenRequest is what create accepts; tokens are not edited (delete and
// create another).
type TokenRequest struct {
	Identifier  *string    `json:"identifier" doc:"unique among the owner's tokens; generated when absent"`
	Intent      *string    `json:"intent" enum:"api,app_password" doc:"api (default) or app_password"`
	User        *uuid.UUID `json:"user" doc:"another user than the caller needs authentik_core.add_token"`
	Description *string    `json:"description"`
	Expires     *time.Time `json:"expires" doc:"when expiring; default one day from now (Authentik's default_token_duration); without authentik_core.add_token at most that far, or the owner's goauthentik.io/user/token-maximum-lifetime"`
	Expiring    *bool      `json:"expiring" doc:"false for a token that never expires"`
}

func tokenOut(t *store.Token) Token {
	return Token{PK: t.ID, Identifier: t.Identifier, Intent: string(t.Intent), User: t.UserID, Description: t.Description,
		Expires: timePtr(t.Expires), Expiring: !t.Expires.IsZero(), Created: t.CreatedAt}
}

// Tokens are everyone's to manage for themselves, as in Authentik: the
// model permissions extend a caller's reach to other users' tokens.
func (a *API) registerTokens() {
	from := len(a.endpoints)
	visible := func(ctx context.Context, c *Caller, id uuid.UUID) (*store.Token, error) {
		t, err := c.Scope.Tokens().Get(ctx, id)
		if err == nil && t.UserID != c.User.ID && !c.Can("authentik_core.view_token") {
			// Someone else's token does not exist for the caller.
			return nil, store.ErrNotFound
		}
		return t, err
	}
	Register(a, Resource[Token, TokenRequest]{
		Path: "core/tokens/", Tag: "core", Model: "authentik_core.token",
		Filters: []Param{{Name: "intent", Enum: []string{"api", "app_password", "recovery", "verification"}},
			{Name: "user__username", Description: "tokens of this user (with authentik_core.view_token)"}},
		Ordering: []string{"identifier", "expires", "created"},
		// Authentik addresses tokens by identifier; the UUID works too.
		// Identifiers are unique per owner: the caller's own token comes
		// first, then, for those who see every token, the only one of
		// that name.
		Key: func(ctx context.Context, c *Caller, identifier string) (uuid.UUID, error) {
			t, err := c.Scope.Tokens().GetByIdentifier(ctx, c.User.ID, identifier)
			if errors.Is(err, store.ErrNotFound) && c.Can("authentik_core.view_token") {
				t, err = c.Scope.Tokens().GetByIdentifier(ctx, uuid.Nil, identifier)
				if errors.Is(err, store.ErrConflict) {
					return uuid.Nil, Errorf(http.StatusConflict, "several users have a token with this identifier; address it by its pk")
				}
			}
			if err != nil {
				return uuid.Nil, err
			}
			return t.ID, nil
		},
		KeyName: "identifier",
		List: func(ctx context.Context, c *Caller, q Query) ([]Token, int, error) {
			tq := store.TokenQuery{UserID: c.User.ID, Intent: store.TokenIntent(q.Filters["intent"]), Search: q.Search,
				Ordering: q.Ordering, Page: q.Page}
			if c.Can("authentik_core.view_token") {
				tq.UserID = uuid.Nil
				if name, ok := q.Filters["user__username"]; ok {
					u, err := c.Scope.Users().GetByUsername(ctx, name)
					if errors.Is(err, store.ErrNotFound) {
						return nil, 0, nil
					} else if err != nil {
						return nil, 0, err
					}
					tq.UserID = u.ID
				}
			}
			ts, total, err := listTokens(ctx, c.Scope, tq)
			out := make([]Token, len(ts))
			for i, t := range ts {
				out[i] = tokenOut(t)
			}
			return out, total, err
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (Token, error) {
			t, err := visible(ctx, c, id)
			if err != nil {
				return Token{}, err
			}
			return tokenOut(t), nil
		},
		Create: func(ctx context.Context, c *Caller, in *TokenRequest) (Token, error) {
			return a.createToken(ctx, c, in)
		},
		Delete: func(ctx context.Context, c *Caller, id uuid.UUID) error {
			t, err := visible(ctx, c, id)
			if err != nil {
				return err
			}
			if t.UserID != c.User.ID && !c.Can("authentik_core.delete_token") {
				return forbidden("authentik_core.delete_token")
			}
			return a.as(c).DeleteToken(ctx, c.Scope, id)
		},
		DomainWrites: true,
	})
	a.ownable(from)
}

// listTokens pages through tokens with the store's lister; a store without
// one can still list a single user's tokens.
func listTokens(ctx context.Context, sc store.Scope, q store.TokenQuery) ([]*store.Token, int, error) {
	if l, ok := sc.Tokens().(store.TokenLister); ok {
		return l.List(ctx, q)
	}
	if q.UserID == uuid.Nil {
		return nil, 0, Errorf(http.StatusNotImplemented, "this store cannot list every user's tokens; filter by user__username")
	}
	all, err := sc.Tokens().ListForUser(ctx, q.UserID)
	var out []*store.Token
	for _, t := range all {
		if (q.Intent == "" || t.Intent == q.Intent) && (strings.Contains(strings.ToLower(t.Identifier+"\x00"+t.Description),
			strings.ToLower(q.Search))) {
			out = append(out, t)
		}
	}
	return slicePage(out, q.Page), len(out), err
}

// createToken mints a token through the domain layer, which applies the
// lifetime rules of callers without add_token; minting for another user
// needs add_token, and the rule of who may act on whom.
func (a *API) createToken(ctx context.Context, c *Caller, in *TokenRequest) (Token, error) {
	n := core.NewToken{Expires: in.Expires, Expiring: in.Expiring}
	if in.User != nil && *in.User != c.User.ID {
		if !c.Can("authentik_core.add_token") {
			return Token{}, forbidden("authentik_core.add_token")
		}
		n.Owner = *in.User
	}
	set(&n.Identifier, in.Identifier)
	set(&n.Description, in.Description)
	if in.Intent != nil {
		n.Intent = store.TokenIntent(*in.Intent)
		if n.Intent == "" {
			return Token{}, store.Invalid("intent", "must be api or app_password")
		}
	}
	t, secret, err := a.as(c).CreateToken(ctx, c.Scope, n)
	if err != nil {
		return Token{}, err
	}
	out := tokenOut(t)
	out.Key = secret
	return out, nil
}
