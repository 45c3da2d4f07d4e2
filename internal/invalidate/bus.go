package invalidate

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Topic names a kind of cached configuration. Subscribers drop what they
// hold of a topic; writers publish the topics their write made stale.
type Topic string

// The topics, one per family of caches.
const (
	// Providers: applications, providers, their property mappings and
	// client_credentials service accounts (the OAuth2 client cache and
	// the discovery documents built from it).
	Providers Topic = "providers"
	// Flows: flows, stages, bindings, policies and prompts (the flow
	// executor's definitions).
	Flows Topic = "flows"
	// Keys: certificate key pairs (the key manager's rotation sets, its
	// JWKS and signers).
	Keys Topic = "keys"
	// Tenants: tenants and their domains (the host-to-tenant resolver).
	// The tenant published with it does not matter: the resolver reloads
	// every tenant.
	Tenants Topic = "tenants"
	// NotificationRules: whether a tenant has notification rules.
	NotificationRules Topic = "notification_rules"
)

// AllTenants is the tenant a subscriber is given when it must drop what it
// holds of every tenant (the listener reconnected, or an announcement
// could not be read).
var AllTenants = uuid.Nil

// Channel is the PostgreSQL NOTIFY channel the bus uses.
const Channel = "gatehouse_invalidate"

// Bus delivers announcements to this process's subscribers and, on
// PostgreSQL, to every other replica's. It is safe for concurrent use.
type Bus struct {
	db  store.Store
	log *slog.Logger
	// origin marks this process's notifications, which the listener skips:
	// they were delivered here at commit.
	origin string

	mu   sync.RWMutex
	subs map[Topic][]func(tenant uuid.UUID)

	listening atomic.Bool
}

// New returns a bus over db (which sends the NOTIFYs).
func New(db store.Store, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bus{db: db, log: log, origin: uuid.NewString(), subs: map[Topic][]func(uuid.UUID){}}
}

// Subscribe calls fn with the tenant each time topic is published, here or
// on another replica, and with AllTenants when everything must go. fn runs
// on the publisher's goroutine or the listener's: keep it short (drop
// entries, or reload one small table) and never publish from it.
func (b *Bus) Subscribe(topic Topic, fn func(tenant uuid.UUID)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[topic] = append(b.subs[topic], fn)
}

// Publish announces that topic changed in tenant, after the write that
// changed it has committed. This process's subscribers run before it
// returns, even when telling the other replicas fails; the error then
// says so (they see the change when their caches expire).
func (b *Bus) Publish(ctx context.Context, topic Topic, tenant uuid.UUID) error {
	return b.PublishTx(ctx, b.db.Scope(tenant), topic)
}

// PublishTx announces that topic changed in tx's tenant as part of tx's
// transaction: every replica, this one included, hears of it when the
// transaction commits, and none if it rolls back. An error means the
// announcement could not join the transaction; return it so the write
// rolls back too. Outside a transaction it is Publish.
func (b *Bus) PublishTx(ctx context.Context, tx store.Scope, topic Topic) error {
	tenant := tx.TenantID()
	tx.AfterCommit(func() { b.deliver(topic, tenant) })
	if err := tx.Notify(ctx, Channel, b.origin+" "+string(topic)+" "+tenant.String()); err != nil {
		return fmt.Errorf("invalidate: announce %s of tenant %s to the other replicas: %w", topic, tenant, err)
	}
	return nil
}

// Listening reports whether Listen holds a connection that listens: while
// it does not, other replicas' changes reach this one through the TTLs.
func (b *Bus) Listening() bool { return b.listening.Load() }

func (b *Bus) deliver(topic Topic, tenant uuid.UUID) {
	b.mu.RLock()
	fns := b.subs[topic]
	b.mu.RUnlock()
	for _, fn := range fns {
		fn(tenant)
	}
}

// deliverAll drops every cache of every tenant.
func (b *Bus) deliverAll() {
	b.mu.RLock()
	var fns []func(uuid.UUID)
	for _, list := range b.subs {
		fns = append(fns, list...)
	}
	b.mu.RUnlock()
	for _, fn := range fns {
		fn(AllTenants)
	}
}

// receive delivers another replica's announcement; one it cannot read
// (another version's format) drops everything rather than nothing.
func (b *Bus) receive(payload string) {
	origin, rest, _ := strings.Cut(payload, " ")
	if origin == b.origin {
		return
	}
	topic, tenantText, _ := strings.Cut(rest, " ")
	tenant, err := uuid.Parse(tenantText)
	if err != nil || topic == "" {
		b.log.Warn("invalidate: unreadable announcement; dropping every cache", "payload", payload)
		b.deliverAll()
		return
	}
	b.log.Debug("invalidate: announcement from another replica", "topic", topic, "tenant", tenant)
	b.deliver(Topic(topic), tenant)
}
