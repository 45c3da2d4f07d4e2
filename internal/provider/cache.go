package provider

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ErrUnknown is a provider that does not exist, is of another kind, or has
// no application: for a protocol endpoint, an unknown client.
var ErrUnknown = errors.New("unknown provider")

// CacheTTL bounds how long a provider is served from a cache without being
// read again. The invalidation bus drops a tenant's entries on every admin
// write; the TTL is what is left if an announcement is lost.
const CacheTTL = 5 * time.Second

// maxCached bounds a cache: past it, the cache starts over rather than
// grow with lookups of names that do not exist.
const maxCached = 10_000

// Cache keeps the providers of one kind with their applications and what
// the kind resolves from them once (parsed settings, an unsealed secret,
// mappings), because a protocol endpoint reads them on every request.
type Cache[T any] struct {
	// Kind is the provider kind served; a provider of another kind is
	// ErrUnknown.
	Kind string
	// Resolve builds the kind's value for a provider and its application.
	Resolve func(ctx context.Context, sc store.Scope, p *store.Provider, app *store.Application) (T, error)
	// Now is the clock entries age by.
	Now func() time.Time

	mu sync.Mutex
	m  map[cacheKey]cached[T]
}

type cacheKey struct {
	tenant uuid.UUID
	by     string // "id:<client_id>" or "slug:<application slug>"
}

type cached[T any] struct {
	v      T
	loaded time.Time
}

// ByClientID is the provider with this client_id and its application.
func (c *Cache[T]) ByClientID(ctx context.Context, sc store.Scope, clientID string) (T, error) {
	if clientID == "" || len(clientID) > 255 {
		var zero T
		return zero, ErrUnknown
	}
	return c.get(ctx, sc, "id:"+clientID, func() (*store.Provider, *store.Application, error) {
		p, err := sc.Providers().GetByClientID(ctx, clientID)
		if err != nil {
			return nil, nil, err
		}
		app, err := sc.Applications().GetByProvider(ctx, p.ID)
		if err != nil {
			return nil, nil, err
		}
		return p, app, nil
	})
}

// BySlug is the provider of the application with this slug (the
// per-application paths: issuers, metadata).
func (c *Cache[T]) BySlug(ctx context.Context, sc store.Scope, slug string) (T, error) {
	return c.get(ctx, sc, "slug:"+slug, func() (*store.Provider, *store.Application, error) {
		app, err := sc.Applications().GetBySlug(ctx, slug)
		if err != nil {
			return nil, nil, err
		}
		if !app.ProviderID.Valid {
			return nil, nil, store.ErrNotFound
		}
		p, err := sc.Providers().Get(ctx, app.ProviderID.UUID)
		if err != nil {
			return nil, nil, err
		}
		return p, app, nil
	})
}

func (c *Cache[T]) get(ctx context.Context, sc store.Scope, by string,
	load func() (*store.Provider, *store.Application, error)) (T, error) {
	var zero T
	k := cacheKey{sc.TenantID(), by}
	now := c.Now()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Sub(e.loaded) < CacheTTL {
		return e.v, nil
	}
	p, app, err := load()
	if errors.Is(err, store.ErrNotFound) {
		return zero, ErrUnknown
	}
	if err != nil {
		return zero, err
	}
	if p.Kind != c.Kind {
		return zero, ErrUnknown
	}
	v, err := c.Resolve(ctx, sc, p, app)
	if err != nil {
		return zero, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > maxCached {
		c.m = map[cacheKey]cached[T]{}
	}
	c.m[k] = cached[T]{v: v, loaded: now}
	c.mu.Unlock()
	return v, nil
}

// Invalidate forgets the entries of tenant (of every tenant for uuid.Nil).
func (c *Cache[T]) Invalidate(tenant uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.tenant == tenant || tenant == uuid.Nil {
			delete(c.m, k)
		}
	}
}
