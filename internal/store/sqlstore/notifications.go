package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (sc *scope) NotificationRules() store.NotificationRules { return notificationRules{sc} }
func (sc *scope) NotificationTransports() store.NotificationTransports {
	return notificationTransports{sc}
}
func (sc *scope) Notifications() store.Notifications { return notifications{sc} }

// scanAll reads every row of a query with scan.
func scanAll[T any](sc *scope, rows *sql.Rows, err error, scan func(rowScanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, sc.err(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, sc.err(err)
		}
		out = append(out, x)
	}
	return out, sc.err(rows.Err())
}

// idList appends ids to args and returns their placeholders, "$2, $3".
func idList(args []any, ids []uuid.UUID) (string, []any) {
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = "$" + itoa(len(args))
	}
	return strings.Join(ph, ", "), args
}

type notificationRules struct{ *scope }

const ruleColumns = `id, name, severity, group_id, destination_event_user, created_at, updated_at, version`

func scanRule(r rowScanner) (*store.NotificationRule, error) {
	var x store.NotificationRule
	var cr, upd int64
	if err := r.Scan(&x.ID, &x.Name, &x.Severity, &x.GroupID, &x.DestinationEventUser, &cr, &upd, &x.Version); err != nil {
		return nil, err
	}
	x.CreatedAt, x.UpdatedAt = store.FromMicros(cr), store.FromMicros(upd)
	return &x, nil
}

func normalizeRule(r *store.NotificationRule) error {
	r.Name = strings.TrimSpace(r.Name)
	if r.Severity == "" {
		r.Severity = store.SeverityNotice
	}
	seen := map[uuid.UUID]bool{}
	ids := r.TransportIDs[:0:0]
	for _, id := range r.TransportIDs {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	r.TransportIDs = ids
	return r.Validate()
}

// setTransports replaces a rule's links; the composite foreign key makes
// another tenant's transport look missing (ErrNotFound).
func (s notificationRules) setTransports(ctx context.Context, ruleID uuid.UUID, ids []uuid.UUID) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM notification_rule_transports WHERE tenant_id = $1 AND rule_id = $2`,
		s.tenant, ruleID); err != nil {
		return s.err(err)
	}
	for _, id := range ids {
		if _, err := s.q.ExecContext(ctx, `INSERT INTO notification_rule_transports (tenant_id, rule_id, transport_id)
			VALUES ($1, $2, $3)`, s.tenant, ruleID, id); err != nil {
			return s.err(err)
		}
	}
	return nil
}

func (s notificationRules) Create(ctx context.Context, r *store.NotificationRule) error {
	if r.ID == uuid.Nil {
		r.ID = uuid.Must(uuid.NewV7())
	}
	if err := normalizeRule(r); err != nil {
		return err
	}
	now := s.s.nowTime()
	r.CreatedAt, r.UpdatedAt, r.Version = now, now, 1
	return s.Tx(ctx, func(tx store.Scope) error {
		t := notificationRules{tx.(*scope)}
		_, err := t.q.ExecContext(ctx, `INSERT INTO notification_rules (tenant_id, `+ruleColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			t.tenant, r.ID, r.Name, r.Severity, r.GroupID, r.DestinationEventUser, store.Micros(r.CreatedAt), store.Micros(r.UpdatedAt), r.Version)
		if err != nil {
			return t.err(err)
		}
		return t.setTransports(ctx, r.ID, r.TransportIDs)
	})
}

// withTransports fills the rules' TransportIDs in one query.
func (s notificationRules) withTransports(ctx context.Context, rules []*store.NotificationRule) error {
	if len(rules) == 0 {
		return nil
	}
	byID := make(map[uuid.UUID]*store.NotificationRule, len(rules))
	ids := make([]uuid.UUID, len(rules))
	for i, r := range rules {
		byID[r.ID], ids[i] = r, r.ID
		r.TransportIDs = []uuid.UUID{}
	}
	in, args := idList([]any{s.tenant}, ids)
	rows, err := s.q.QueryContext(ctx, `SELECT rule_id, transport_id FROM notification_rule_transports
		WHERE tenant_id = $1 AND rule_id IN (`+in+`) ORDER BY rule_id, transport_id`, args...)
	links, err := scanAll(s.scope, rows, err, func(r rowScanner) ([2]uuid.UUID, error) {
		var l [2]uuid.UUID
		return l, r.Scan(&l[0], &l[1])
	})
	for _, l := range links {
		byID[l[0]].TransportIDs = append(byID[l[0]].TransportIDs, l[1])
	}
	return err
}

func (s notificationRules) one(ctx context.Context, where string, arg any) (*store.NotificationRule, error) {
	r, err := scanRule(s.q.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM notification_rules
		WHERE tenant_id = $1 AND `+where, s.tenant, arg))
	if err != nil {
		return nil, s.err(err)
	}
	return r, s.withTransports(ctx, []*store.NotificationRule{r})
}

func (s notificationRules) Get(ctx context.Context, id uuid.UUID) (*store.NotificationRule, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s notificationRules) GetByName(ctx context.Context, name string) (*store.NotificationRule, error) {
	return s.one(ctx, `name = $2`, name)
}

func (s notificationRules) List(ctx context.Context, page store.Page) ([]*store.NotificationRule, int, error) {
	var total int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM notification_rules WHERE tenant_id = $1`,
		s.tenant).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	p := page.Normalize()
	rows, err := s.q.QueryContext(ctx, `SELECT `+ruleColumns+` FROM notification_rules WHERE tenant_id = $1
		ORDER BY name, id LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), s.tenant)
	out, err := scanAll(s.scope, rows, err, scanRule)
	if err != nil {
		return nil, 0, err
	}
	return out, total, s.withTransports(ctx, out)
}

func (s notificationRules) Any(ctx context.Context) (bool, error) {
	var ok bool
	err := s.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM notification_rules WHERE tenant_id = $1)`,
		s.tenant).Scan(&ok)
	return ok, s.err(err)
}

func (s notificationRules) Update(ctx context.Context, id uuid.UUID, fn func(*store.NotificationRule) error) (*store.NotificationRule, error) {
	return casUpdate(ctx, s.scope, ruleRows, id, -1, fn)
}

var ruleRows = versioned[store.NotificationRule]{
	inTx: true,
	get: func(ctx context.Context, sc *scope, id uuid.UUID) (*store.NotificationRule, error) {
		return notificationRules{sc}.Get(ctx, id)
	},
	owned:   func(r *store.NotificationRule) owned { return owned{&r.ID, &r.CreatedAt, &r.UpdatedAt, &r.Version} },
	prepare: func(_ context.Context, _ *scope, r, _ *store.NotificationRule) error { return normalizeRule(r) },
	write: func(ctx context.Context, sc *scope, r, old *store.NotificationRule) (sql.Result, error) {
		return sc.q.ExecContext(ctx, `UPDATE notification_rules SET name = $3, severity = $4, group_id = $5,
			destination_event_user = $6, updated_at = $7, version = $8 WHERE tenant_id = $1 AND id = $2 AND version = $9`,
			sc.tenant, r.ID, r.Name, r.Severity, r.GroupID, r.DestinationEventUser, store.Micros(r.UpdatedAt), r.Version, old.Version)
	},
	after: func(ctx context.Context, sc *scope, r *store.NotificationRule) error {
		return notificationRules{sc}.setTransports(ctx, r.ID, r.TransportIDs)
	},
}

func (s notificationRules) Delete(ctx context.Context, id uuid.UUID) error {
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := tx.(*scope)
		res, err := sc.q.ExecContext(ctx, `DELETE FROM notification_rules WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
		if err := sc.exactlyOne(res, err); err != nil {
			return err
		}
		return sc.PolicyBindings().DeleteForTarget(ctx, id)
	})
}

type notificationTransports struct{ *scope }

const transportColumns = `id, name, mode, webhook_url, webhook_mapping_id, send_once, email_subject_prefix, secret_enc,
	created_at, updated_at, version`

func scanTransport(r rowScanner) (*store.NotificationTransport, error) {
	var t store.NotificationTransport
	var cr, upd int64
	if err := r.Scan(&t.ID, &t.Name, &t.Mode, &t.WebhookURL, &t.WebhookMappingID, &t.SendOnce, &t.EmailSubjectPrefix,
		&t.SecretEnc, &cr, &upd, &t.Version); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = store.FromMicros(cr), store.FromMicros(upd)
	return &t, nil
}

func (s notificationTransports) Create(ctx context.Context, t *store.NotificationTransport) error {
	if t.ID == uuid.Nil {
		t.ID = uuid.Must(uuid.NewV7())
	}
	t.Name = strings.TrimSpace(t.Name)
	if err := t.Validate(); err != nil {
		return err
	}
	now := s.s.nowTime()
	t.CreatedAt, t.UpdatedAt, t.Version = now, now, 1
	_, err := s.q.ExecContext(ctx, `INSERT INTO notification_transports (tenant_id, `+transportColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		s.tenant, t.ID, t.Name, t.Mode, t.WebhookURL, t.WebhookMappingID, t.SendOnce, t.EmailSubjectPrefix, t.SecretEnc,
		store.Micros(t.CreatedAt), store.Micros(t.UpdatedAt), t.Version)
	return s.err(err)
}

func (s notificationTransports) one(ctx context.Context, where string, arg any) (*store.NotificationTransport, error) {
	t, err := scanTransport(s.q.QueryRowContext(ctx, `SELECT `+transportColumns+` FROM notification_transports
		WHERE tenant_id = $1 AND `+where, s.tenant, arg))
	if err != nil {
		return nil, s.err(err)
	}
	return t, nil
}

func (s notificationTransports) Get(ctx context.Context, id uuid.UUID) (*store.NotificationTransport, error) {
	return s.one(ctx, `id = $2`, id)
}

func (s notificationTransports) GetByName(ctx context.Context, name string) (*store.NotificationTransport, error) {
	return s.one(ctx, `name = $2`, name)
}

func (s notificationTransports) GetMany(ctx context.Context, ids []uuid.UUID) ([]*store.NotificationTransport, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	in, args := idList([]any{s.tenant}, ids)
	rows, err := s.q.QueryContext(ctx, `SELECT `+transportColumns+` FROM notification_transports
		WHERE tenant_id = $1 AND id IN (`+in+`) ORDER BY name, id`, args...)
	return scanAll(s.scope, rows, err, scanTransport)
}

func (s notificationTransports) List(ctx context.Context, page store.Page) ([]*store.NotificationTransport, int, error) {
	var total int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM notification_transports WHERE tenant_id = $1`,
		s.tenant).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	p := page.Normalize()
	rows, err := s.q.QueryContext(ctx, `SELECT `+transportColumns+` FROM notification_transports WHERE tenant_id = $1
		ORDER BY name, id LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), s.tenant)
	out, err := scanAll(s.scope, rows, err, scanTransport)
	return out, total, err
}

func (s notificationTransports) Update(ctx context.Context, id uuid.UUID, fn func(*store.NotificationTransport) error) (*store.NotificationTransport, error) {
	return casUpdate(ctx, s.scope, transportRows, id, -1, fn)
}

var transportRows = versioned[store.NotificationTransport]{
	get: func(ctx context.Context, sc *scope, id uuid.UUID) (*store.NotificationTransport, error) {
		return notificationTransports{sc}.Get(ctx, id)
	},
	owned: func(t *store.NotificationTransport) owned {
		return owned{&t.ID, &t.CreatedAt, &t.UpdatedAt, &t.Version}
	},
	prepare: func(_ context.Context, _ *scope, t, _ *store.NotificationTransport) error {
		t.Name = strings.TrimSpace(t.Name)
		return t.Validate()
	},
	write: func(ctx context.Context, sc *scope, t, old *store.NotificationTransport) (sql.Result, error) {
		return sc.q.ExecContext(ctx, `UPDATE notification_transports SET name = $3, mode = $4, webhook_url = $5,
			webhook_mapping_id = $6, send_once = $7, email_subject_prefix = $8, secret_enc = $9, updated_at = $10,
			version = $11 WHERE tenant_id = $1 AND id = $2 AND version = $12`,
			sc.tenant, t.ID, t.Name, t.Mode, t.WebhookURL, t.WebhookMappingID, t.SendOnce, t.EmailSubjectPrefix, t.SecretEnc,
			store.Micros(t.UpdatedAt), t.Version, old.Version)
	},
}

func (s notificationTransports) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM notification_transports WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
	return s.exactlyOne(res, err)
}

type notifications struct{ *scope }

const notificationColumns = `id, user_id, rule_id, event_id, severity, body, event, seen, created_at, expires`

func scanNotification(r rowScanner) (*store.Notification, error) {
	var n store.Notification
	var ev []byte
	var cr, exp int64
	if err := r.Scan(&n.ID, &n.UserID, &n.RuleID, &n.EventID, &n.Severity, &n.Body, &ev, &n.Seen, &cr, &exp); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(ev, &n.Event); err != nil {
		return nil, err
	}
	n.CreatedAt, n.Expires = store.FromMicros(cr), store.FromMicros(exp)
	return &n, nil
}

func (s notifications) Create(ctx context.Context, n *store.Notification) error {
	if n.ID == uuid.Nil {
		n.ID = uuid.Must(uuid.NewV7())
	}
	if n.Event == nil {
		n.Event = map[string]any{}
	}
	if err := n.Validate(); err != nil {
		return err
	}
	ev, err := json.Marshal(n.Event)
	if err != nil {
		return store.Invalid("event", "cannot be encoded as JSON")
	}
	n.CreatedAt = s.s.nowTime()
	_, err = s.q.ExecContext(ctx, `INSERT INTO notifications (tenant_id, `+notificationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.tenant, n.ID, n.UserID, n.RuleID, n.EventID, n.Severity, n.Body, string(ev), n.Seen, store.Micros(n.CreatedAt), store.Micros(n.Expires))
	return s.err(err)
}

func (s notifications) Get(ctx context.Context, id uuid.UUID) (*store.Notification, error) {
	n, err := scanNotification(s.q.QueryRowContext(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE tenant_id = $1 AND id = $2`, s.tenant, id))
	if err != nil {
		return nil, s.err(err)
	}
	return n, nil
}

func (s notifications) ListForUser(ctx context.Context, userID uuid.UUID, q store.NotificationQuery) ([]*store.Notification, int, error) {
	order := "created_at DESC, id DESC"
	switch q.Ordering {
	case "", "-created":
	case "created":
		order = "created_at, id"
	default:
		return nil, 0, store.Invalid("ordering", "must be created or -created, not %q", q.Ordering)
	}
	if q.Severity != "" && !slices.Contains(store.Severities, q.Severity) {
		return nil, 0, store.Invalid("severity", "must be one of %s", strings.Join(store.Severities, ", "))
	}
	cond, args := `tenant_id = $1 AND user_id = $2`, []any{s.tenant, userID}
	if q.Seen != nil {
		args = append(args, *q.Seen)
		cond += ` AND seen = $` + itoa(len(args))
	}
	if q.Severity != "" {
		args = append(args, q.Severity)
		cond += ` AND severity = $` + itoa(len(args))
	}
	var total int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*) FROM notifications WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	p := q.Page.Normalize()
	rows, err := s.q.QueryContext(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE `+cond+
		` ORDER BY `+order+` LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), args...)
	out, err := scanAll(s.scope, rows, err, scanNotification)
	return out, total, err
}

func (s notifications) SetSeen(ctx context.Context, id uuid.UUID, seen bool) error {
	res, err := s.q.ExecContext(ctx, `UPDATE notifications SET seen = $3 WHERE tenant_id = $1 AND id = $2`, s.tenant, id, seen)
	return s.exactlyOne(res, err)
}

// MarkAllSeen counts with deleteCount, which counts any statement's rows.
func (s notifications) MarkAllSeen(ctx context.Context, userID uuid.UUID) (int, error) {
	return s.deleteCount(ctx, `UPDATE notifications SET seen = $3 WHERE tenant_id = $1 AND user_id = $2 AND seen = $4`,
		s.tenant, userID, true, false)
}

func (s notifications) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM notifications WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
	return s.exactlyOne(res, err)
}

func (s notifications) DeleteStale(ctx context.Context, now time.Time) (int, error) {
	return s.deleteCount(ctx, `DELETE FROM notifications WHERE tenant_id = $1
		AND (seen = $2 OR (expires > 0 AND expires <= $3))`, s.tenant, true, store.Micros(now))
}

func (s notifications) MarkDelivered(ctx context.Context, notificationID, transportID uuid.UUID, at time.Time) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO notification_deliveries (tenant_id, notification_id, transport_id, delivered_at)
		VALUES ($1, $2, $3, $4)`, s.tenant, notificationID, transportID, store.Micros(at))
	return s.err(err)
}

func (s notifications) Delivered(ctx context.Context, notificationID, transportID uuid.UUID) (bool, error) {
	var ok bool
	err := s.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM notification_deliveries
		WHERE tenant_id = $1 AND notification_id = $2 AND transport_id = $3)`, s.tenant, notificationID, transportID).Scan(&ok)
	return ok, s.err(err)
}
