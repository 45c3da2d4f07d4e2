package notification

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Job kinds and the cleanup schedule, named after Authentik's actors.
const (
	DispatchJob     = "notification.dispatch"
	DeliverJob      = "notification.deliver"
	CleanupSchedule = "notification_cleanup"
)

const (
	// HasRulesTTL is how long a tenant's "has rules" answer is kept. A
	// rule written in this process takes effect at once (RulesChanged); one
	// written by another replica as soon as its announcement arrives
	// (Invalidate); this is the bound when it does not.
	HasRulesTTL = 10 * time.Second
	// WebhookTimeout bounds one webhook request, connection included.
	WebhookTimeout = 10 * time.Second
	// cleanupEvery is Authentik's notification_cleanup period.
	cleanupEvery = 8 * time.Hour
	// dispatchTimeout leaves room for slow policies: each binding has its
	// own timeout (30 s by default) and a rule may have several.
	dispatchTimeout = 5 * time.Minute
)

// rulesGeneration counts rule writes in this process; a cached answer
// from an older generation is not trusted. It is global because rules are
// written through blueprint models, which are registered once per process
// and know no Service.
var rulesGeneration atomic.Uint64

// RulesChanged makes every Service ask the store again whether tenants
// have rules. Call it after creating or deleting a rule.
func RulesChanged() { rulesGeneration.Add(1) }

// Service dispatches events to rules and delivers notifications.
type Service struct {
	store    store.Store
	policies *policy.Engine
	queue    *job.Queue
	box      *secretbox.Box
	log      *slog.Logger
	now      func() time.Time
	// client posts webhooks; it follows no redirects.
	client *http.Client

	mu       sync.Mutex
	hasRules map[uuid.UUID]cachedAnswer
}

type cachedAnswer struct {
	yes   bool
	until time.Time
	gen   uint64
}

// New returns the service and registers its jobs and cleanup schedule on
// q; call it before q runs, and set Event as the audit writer's hook.
func New(db store.Store, q *job.Queue, policies *policy.Engine, box *secretbox.Box, log *slog.Logger, opts ...Option) *Service {
	s := &Service{store: db, policies: policies, queue: q, box: box, log: log, now: time.Now,
		client: &http.Client{Timeout: WebhookTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		hasRules: map[uuid.UUID]cachedAnswer{}}
	for _, o := range opts {
		o(s)
	}
	q.Register(DispatchJob, s.dispatch, job.Timeout(dispatchTimeout))
	// The lease outlives the request timeout, so a slow receiver is not
	// also handed to a second worker.
	q.Register(DeliverJob, s.deliver, job.Timeout(WebhookTimeout+20*time.Second))
	q.Schedule(CleanupSchedule, cleanupEvery, s.cleanup)
	return s
}

// Event is the audit writer's hook, called as e is stored, with the
// scope of the transaction that stores it. It enqueues the event's
// dispatch when the tenant has rules, in that transaction (EnqueueTx), so
// the event and its dispatch are stored together or not at all; failures
// are logged, and the writer stores the event without its dispatch if
// they fail the transaction. The request ending (a client that hangs up)
// must not lose the dispatch of an event being stored, hence
// WithoutCancel.
func (s *Service) Event(ctx context.Context, sc store.Scope, e *store.Event) {
	ctx = context.WithoutCancel(ctx)
	tenant := sc.TenantID()
	yes, err := s.tenantHasRules(ctx, tenant)
	if err != nil {
		s.log.Warn("notifications: cannot tell whether the tenant has rules; event not dispatched",
			"action", e.Action, "error", err)
		return
	}
	if !yes {
		return
	}
	if _, err := s.queue.EnqueueTx(ctx, sc, DispatchJob, dispatchPayload{Event: EventDict(e)},
		job.Unique(e.ID.String())); err != nil {
		s.log.Warn("notifications: event not dispatched", "action", e.Action, "error", err)
	}
}

// Invalidate forgets whether a tenant (every tenant for uuid.Nil) has
// rules: the invalidate.NotificationRules subscriber, for rules written by
// other processes.
func (s *Service) Invalidate(tenant uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tenant == uuid.Nil {
		clear(s.hasRules)
		return
	}
	delete(s.hasRules, tenant)
}

func (s *Service) tenantHasRules(ctx context.Context, tenant uuid.UUID) (bool, error) {
	gen, now := rulesGeneration.Load(), s.now()
	s.mu.Lock()
	c, ok := s.hasRules[tenant]
	s.mu.Unlock()
	if ok && c.gen == gen && now.Before(c.until) {
		return c.yes, nil
	}
	yes, err := s.store.Scope(tenant).NotificationRules().Any(ctx)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	s.hasRules[tenant] = cachedAnswer{yes: yes, until: now.Add(HasRulesTTL), gen: gen}
	s.mu.Unlock()
	return yes, nil
}

type dispatchPayload struct {
	Event map[string]any `json:"event"`
}

type deliverPayload struct {
	Notification uuid.UUID `json:"notification"`
	Transport    uuid.UUID `json:"transport"`
}

// dispatch judges one event against every rule of its tenant.
func (s *Service) dispatch(ctx context.Context, j *job.Job) error {
	var p dispatchPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || !j.TenantID.Valid || p.Event == nil {
		return job.Permanent(fmt.Errorf("notification: unreadable dispatch job: %v", err))
	}
	eventID, err := uuid.Parse(str(p.Event["pk"]))
	if err != nil {
		return job.Permanent(errors.New("notification: the dispatched event has no ID"))
	}
	sc := s.store.Scope(j.TenantID.UUID)
	rules, err := allRules(ctx, sc)
	if err != nil || len(rules) == 0 {
		return err
	}
	ids := make([]uuid.UUID, len(rules))
	for i, r := range rules {
		ids[i] = r.ID
	}
	bindings, err := sc.PolicyBindings().ListForTargets(ctx, ids...)
	if err != nil {
		return err
	}
	policies, err := policy.Load(ctx, sc, bindings)
	if err != nil {
		return err
	}
	if causedByRulePolicy(p.Event, policies) {
		s.log.Debug("notifications: event caused by a rule's own policy; not dispatched", "action", p.Event["action"])
		return nil
	}
	if err := addEventUserEmail(ctx, sc, p.Event); err != nil {
		return err
	}
	byRule := map[uuid.UUID][]*store.PolicyBinding{}
	for _, b := range bindings {
		byRule[b.TargetID] = append(byRule[b.TargetID], b)
	}
	for _, r := range rules {
		req := &policy.Request{Scope: sc, Context: map[string]any{policy.EventKey: p.Event}}
		res := s.policies.Evaluate(policy.Unrecorded(ctx), req, byRule[r.ID], policies, policy.Options{Mode: "any"})
		if !res.Passing {
			continue
		}
		if err := s.notify(ctx, sc, r, eventID, p.Event); err != nil {
			return fmt.Errorf("rule %q: %w", r.Name, err)
		}
	}
	return nil
}

func allRules(ctx context.Context, sc store.Scope) ([]*store.NotificationRule, error) {
	var out []*store.NotificationRule
	for page := 1; ; page++ {
		list, total, err := sc.NotificationRules().List(ctx, store.Page{Number: page, Size: store.MaxPageSize})
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
		if len(out) >= total || len(list) == 0 {
			return out, nil
		}
	}
}

// causedByRulePolicy reports whether the event is about a policy bound to
// a rule (policies holds exactly those): named by ID, as policy_exception
// events do (policy_id, or Authentik's policy_uuid), or by name, as
// policy_execution events do; names are unique in a tenant.
func causedByRulePolicy(event map[string]any, policies map[uuid.UUID]*store.Object) bool {
	ctx, _ := event["context"].(map[string]any)
	for _, key := range []string{"policy_id", "policy_uuid"} {
		if id, err := uuid.Parse(str(ctx[key])); err == nil && policies[id] != nil {
			return true
		}
	}
	name := str(ctx["policy"])
	for _, p := range policies {
		if name != "" && p.Name == name {
			return true
		}
	}
	return false
}

// notify creates the rule's notifications for an event and enqueues their
// deliveries. A notification that exists already (a retried dispatch) is
// taken as it is, and its deliveries enqueued again: a delivery job skips
// a transport that delivered.
func (s *Service) notify(ctx context.Context, sc store.Scope, r *store.NotificationRule, eventID uuid.UUID, event map[string]any) error {
	users, err := recipients(ctx, sc, r, event)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		s.log.Info("notifications: a rule matched but has nobody to notify", "rule", r.Name, "action", event["action"])
		return nil
	}
	transports, err := sc.NotificationTransports().GetMany(ctx, r.TransportIDs)
	if err != nil {
		return err
	}
	body, expires := Summary(event), eventExpiry(event, s.now())
	for i, u := range users {
		n := &store.Notification{ID: notificationID(eventID, r.ID, u.ID), UserID: u.ID, RuleID: r.ID, EventID: eventID,
			Severity: r.Severity, Body: body, Event: event, Expires: expires}
		// A notification and its deliveries are stored together.
		err := sc.Tx(ctx, func(tx store.Scope) error {
			if err := createOnce(ctx, tx, n); err != nil {
				return err
			}
			for _, t := range transports {
				if t.Mode == store.TransportLocal || (t.SendOnce && i > 0) {
					continue
				}
				if _, err := s.queue.EnqueueTx(ctx, tx, DeliverJob, deliverPayload{Notification: n.ID, Transport: t.ID},
					job.Unique(n.ID.String()+"/"+t.ID.String())); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// createOnce stores n unless a retried dispatch stored it already. It
// looks first rather than treat the insert's conflict as success: on
// PostgreSQL a failed statement fails the whole transaction.
func createOnce(ctx context.Context, sc store.Scope, n *store.Notification) error {
	_, err := sc.Notifications().Get(ctx, n.ID)
	if errors.Is(err, store.ErrNotFound) {
		return sc.Notifications().Create(ctx, n)
	}
	return err
}

// notificationNamespace makes notification IDs a function of (event, rule,
// user), so a retried dispatch computes the same IDs.
var notificationNamespace = uuid.MustParse("6f1d3c1e-8a57-4a3c-9d43-2f6b1e0c9a10")

func notificationID(event, rule, user uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(notificationNamespace, slices.Concat(event[:], rule[:], user[:]))
}

// recipients are the active effective members of the rule's group (its
// descendants' members included, as group policy bindings count them)
// and, if the rule says so, the event's user; sorted by ID, so a
// send-once transport always picks the same one.
func recipients(ctx context.Context, sc store.Scope, r *store.NotificationRule, event map[string]any) ([]*store.User, error) {
	ids := map[uuid.UUID]bool{}
	if r.GroupID.Valid {
		groups, err := descendants(ctx, sc, r.GroupID.UUID)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			members, err := sc.Groups().Members(ctx, g)
			if err != nil {
				return nil, err
			}
			for _, m := range members {
				ids[m] = true
			}
		}
	}
	if r.DestinationEventUser {
		user, _ := event["user"].(map[string]any)
		if id, err := uuid.Parse(str(user["pk"])); err == nil {
			ids[id] = true
		}
	}
	var out []*store.User
	for id := range ids {
		u, err := sc.Users().Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if u.IsActive {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b *store.User) int { return slices.Compare(a.ID[:], b.ID[:]) })
	return out, nil
}

// descendants returns root and every group below it.
func descendants(ctx context.Context, sc store.Scope, root uuid.UUID) ([]uuid.UUID, error) {
	children := map[uuid.UUID][]uuid.UUID{}
	for page := 1; ; page++ {
		list, total, err := sc.Groups().List(ctx, store.GroupQuery{Page: store.Page{Number: page, Size: store.MaxPageSize}})
		if err != nil {
			return nil, err
		}
		for _, g := range list {
			if g.ParentID.Valid {
				children[g.ParentID.UUID] = append(children[g.ParentID.UUID], g.ID)
			}
		}
		if page*store.MaxPageSize >= total || len(list) == 0 {
			break
		}
	}
	out, seen := []uuid.UUID{root}, map[uuid.UUID]bool{root: true}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i]] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// cleanup deletes seen and expired notifications of every tenant.
func (s *Service) cleanup(ctx context.Context) error {
	tenants, err := s.store.Tenants().List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tenants {
		if _, err := s.store.Scope(t.ID).Notifications().DeleteStale(ctx, s.now()); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.ID, err))
		}
	}
	return errors.Join(errs...)
}
