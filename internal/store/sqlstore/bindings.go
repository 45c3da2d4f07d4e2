package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type stageBindings struct{ *scope }

func (sc *scope) FlowStageBindings() store.FlowStageBindings { return stageBindings{sc} }

const fsbColumns = `id, flow_id, stage_id, position, evaluate_on_plan, re_evaluate_policies, policy_engine_mode,
	invalid_response_action, created_at, version`

func scanFSB(r rowScanner) (*store.FlowStageBinding, error) {
	var b store.FlowStageBinding
	var cr int64
	if err := r.Scan(&b.ID, &b.FlowID, &b.StageID, &b.Order, &b.EvaluateOnPlan, &b.ReEvaluatePolicies,
		&b.PolicyEngineMode, &b.InvalidResponseAction, &cr, &b.Version); err != nil {
		return nil, err
	}
	b.CreatedAt = store.FromMicros(cr)
	return &b, nil
}

func normalizeFSB(b *store.FlowStageBinding) {
	if b.PolicyEngineMode == "" {
		b.PolicyEngineMode = "any"
	}
	if b.InvalidResponseAction == "" {
		b.InvalidResponseAction = "retry"
	}
}

func (s stageBindings) Create(ctx context.Context, b *store.FlowStageBinding) error {
	if b.ID == uuid.Nil {
		b.ID = uuid.Must(uuid.NewV7())
	}
	normalizeFSB(b)
	if err := b.Validate(); err != nil {
		return err
	}
	b.CreatedAt, b.Version = s.s.nowTime(), 1
	_, err := s.q.ExecContext(ctx, `INSERT INTO flow_stage_bindings (tenant_id, `+fsbColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.tenant, b.ID, b.FlowID, b.StageID, b.Order, b.EvaluateOnPlan, b.ReEvaluatePolicies, b.PolicyEngineMode,
		b.InvalidResponseAction, store.Micros(b.CreatedAt), b.Version)
	return s.err(err)
}

func (s stageBindings) Get(ctx context.Context, id uuid.UUID) (*store.FlowStageBinding, error) {
	b, err := scanFSB(s.q.QueryRowContext(ctx, `SELECT `+fsbColumns+` FROM flow_stage_bindings
		WHERE tenant_id = $1 AND id = $2`, s.tenant, id))
	if err != nil {
		return nil, s.err(err)
	}
	return b, nil
}

func (s stageBindings) ListForFlow(ctx context.Context, flowID uuid.UUID) ([]*store.FlowStageBinding, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+fsbColumns+` FROM flow_stage_bindings
		WHERE tenant_id = $1 AND flow_id = $2 ORDER BY position, id`, s.tenant, flowID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []*store.FlowStageBinding
	for rows.Next() {
		b, err := scanFSB(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, b)
	}
	return out, s.err(rows.Err())
}

// fsbOrderings are the orderings of List, with the tie-breaks that keep
// flows in Flows.List's order (slug, id) and a flow's bindings in
// ListForFlow's (id), ascending either way.
var fsbOrderings = map[string]string{"order": "b.position"}

func (s stageBindings) List(ctx context.Context, q store.FlowStageBindingQuery) ([]*store.FlowStageBinding, int, error) {
	order, err := orderBy(q.Ordering, "order", fsbOrderings)
	if err != nil {
		return nil, 0, err
	}
	// The join orders by the flow's slug; every binding has its flow (the
	// foreign key cascades).
	from := ` FROM flow_stage_bindings b JOIN flows f ON f.tenant_id = b.tenant_id AND f.id = b.flow_id
		WHERE b.tenant_id = $1`
	var total int
	if err := s.q.QueryRowContext(ctx, `SELECT count(*)`+from, s.tenant).Scan(&total); err != nil {
		return nil, 0, s.err(err)
	}
	p := q.Page.Normalize()
	rows, err := s.q.QueryContext(ctx, `SELECT `+qualify("b", fsbColumns)+from+` ORDER BY `+order+`, f.slug, f.id, b.id
		LIMIT `+itoa(p.Size)+` OFFSET `+itoa(p.Offset()), s.tenant)
	if err != nil {
		return nil, 0, s.err(err)
	}
	defer rows.Close()
	var out []*store.FlowStageBinding
	for rows.Next() {
		b, err := scanFSB(rows)
		if err != nil {
			return nil, 0, s.err(err)
		}
		out = append(out, b)
	}
	return out, total, s.err(rows.Err())
}

// qualify prefixes each of a list of columns with a table alias.
func qualify(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

func (s stageBindings) Update(ctx context.Context, id uuid.UUID, fn func(*store.FlowStageBinding) error) (*store.FlowStageBinding, error) {
	return casUpdate(ctx, s.scope, stageBindingRows, id, -1, fn)
}

var stageBindingRows = versioned[store.FlowStageBinding]{
	get: func(ctx context.Context, sc *scope, id uuid.UUID) (*store.FlowStageBinding, error) {
		return stageBindings{sc}.Get(ctx, id)
	},
	owned: func(b *store.FlowStageBinding) owned {
		return owned{id: &b.ID, created: &b.CreatedAt, version: &b.Version}
	},
	prepare: func(_ context.Context, _ *scope, b, _ *store.FlowStageBinding) error {
		normalizeFSB(b)
		return b.Validate()
	},
	write: func(ctx context.Context, sc *scope, b, old *store.FlowStageBinding) (sql.Result, error) {
		return sc.q.ExecContext(ctx, `UPDATE flow_stage_bindings SET flow_id = $3, stage_id = $4, position = $5,
			evaluate_on_plan = $6, re_evaluate_policies = $7, policy_engine_mode = $8, invalid_response_action = $9,
			version = $10 WHERE tenant_id = $1 AND id = $2 AND version = $11`,
			sc.tenant, b.ID, b.FlowID, b.StageID, b.Order, b.EvaluateOnPlan, b.ReEvaluatePolicies, b.PolicyEngineMode,
			b.InvalidResponseAction, b.Version, old.Version)
	},
}

func (s stageBindings) Delete(ctx context.Context, id uuid.UUID) error {
	return s.Tx(ctx, func(tx store.Scope) error {
		sc := tx.(*scope)
		res, err := sc.q.ExecContext(ctx, `DELETE FROM flow_stage_bindings WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
		if err := sc.exactlyOne(res, err); err != nil {
			return err
		}
		return sc.PolicyBindings().DeleteForTarget(ctx, id)
	})
}

type policyBindings struct{ *scope }

func (sc *scope) PolicyBindings() store.PolicyBindings { return policyBindings{sc} }

const pbColumns = `id, target_id, policy_id, group_id, user_id, position, enabled, negate, timeout_ms,
	failure_result, created_at, version`

func scanPB(r rowScanner) (*store.PolicyBinding, error) {
	var b store.PolicyBinding
	var timeout, cr int64
	if err := r.Scan(&b.ID, &b.TargetID, &b.PolicyID, &b.GroupID, &b.UserID, &b.Order, &b.Enabled, &b.Negate,
		&timeout, &b.FailureResult, &cr, &b.Version); err != nil {
		return nil, err
	}
	b.Timeout, b.CreatedAt = time.Duration(timeout)*time.Millisecond, store.FromMicros(cr)
	return &b, nil
}

// DefaultPolicyTimeout is Authentik's binding timeout (30 s).
const DefaultPolicyTimeout = 30 * time.Second

func (s policyBindings) Create(ctx context.Context, b *store.PolicyBinding) error {
	if b.ID == uuid.Nil {
		b.ID = uuid.Must(uuid.NewV7())
	}
	if b.Timeout == 0 {
		b.Timeout = DefaultPolicyTimeout
	}
	if err := b.Validate(); err != nil {
		return err
	}
	b.CreatedAt, b.Version = s.s.nowTime(), 1
	_, err := s.q.ExecContext(ctx, `INSERT INTO policy_bindings (tenant_id, `+pbColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		s.tenant, b.ID, b.TargetID, b.PolicyID, b.GroupID, b.UserID, b.Order, b.Enabled, b.Negate,
		b.Timeout.Milliseconds(), b.FailureResult, store.Micros(b.CreatedAt), b.Version)
	return s.err(err)
}

func (s policyBindings) Get(ctx context.Context, id uuid.UUID) (*store.PolicyBinding, error) {
	b, err := scanPB(s.q.QueryRowContext(ctx, `SELECT `+pbColumns+` FROM policy_bindings
		WHERE tenant_id = $1 AND id = $2`, s.tenant, id))
	if err != nil {
		return nil, s.err(err)
	}
	return b, nil
}

func (s policyBindings) ListForTargets(ctx context.Context, targets ...uuid.UUID) ([]*store.PolicyBinding, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	args := []any{s.tenant}
	ph := make([]string, len(targets))
	for i, t := range targets {
		args = append(args, t)
		ph[i] = "$" + itoa(i+2)
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+pbColumns+` FROM policy_bindings WHERE tenant_id = $1
		AND target_id IN (`+strings.Join(ph, ", ")+`) ORDER BY target_id, position, id`, args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []*store.PolicyBinding
	for rows.Next() {
		b, err := scanPB(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, b)
	}
	return out, s.err(rows.Err())
}

func (s policyBindings) Update(ctx context.Context, id uuid.UUID, fn func(*store.PolicyBinding) error) (*store.PolicyBinding, error) {
	return casUpdate(ctx, s.scope, policyBindingRows, id, -1, fn)
}

var policyBindingRows = versioned[store.PolicyBinding]{
	get: func(ctx context.Context, sc *scope, id uuid.UUID) (*store.PolicyBinding, error) {
		return policyBindings{sc}.Get(ctx, id)
	},
	owned: func(b *store.PolicyBinding) owned {
		return owned{id: &b.ID, created: &b.CreatedAt, version: &b.Version}
	},
	prepare: func(_ context.Context, _ *scope, b, _ *store.PolicyBinding) error { return b.Validate() },
	write: func(ctx context.Context, sc *scope, b, old *store.PolicyBinding) (sql.Result, error) {
		return sc.q.ExecContext(ctx, `UPDATE policy_bindings SET target_id = $3, policy_id = $4, group_id = $5,
			user_id = $6, position = $7, enabled = $8, negate = $9, timeout_ms = $10, failure_result = $11, version = $12
			WHERE tenant_id = $1 AND id = $2 AND version = $13`,
			sc.tenant, b.ID, b.TargetID, b.PolicyID, b.GroupID, b.UserID, b.Order, b.Enabled, b.Negate,
			b.Timeout.Milliseconds(), b.FailureResult, b.Version, old.Version)
	},
}

func (s policyBindings) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM policy_bindings WHERE tenant_id = $1 AND id = $2`, s.tenant, id)
	return s.exactlyOne(res, err)
}

func (s policyBindings) DeleteForTarget(ctx context.Context, target uuid.UUID) error {
	_, err := s.q.ExecContext(ctx, `DELETE FROM policy_bindings WHERE tenant_id = $1 AND target_id = $2`, s.tenant, target)
	return s.err(err)
}
