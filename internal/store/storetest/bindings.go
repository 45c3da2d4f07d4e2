package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testStageBindingsAcrossFlows checks FlowStageBindings.List against what
// listing every flow and then each flow's bindings gives, sorted stably by
// order: the same bindings, order, pages and total, in one query.
func testStageBindingsAcrossFlows(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustTenant(t, s, "a"), mustTenant(t, s, "b")
	// Created out of slug order, so that neither IDs nor creation times
	// happen to give the flows' order.
	fc, fa, fb := mustFlow(t, a, "c-flow"), mustFlow(t, a, "a-flow"), mustFlow(t, a, "b-flow")
	mustFlow(t, a, "empty-flow")
	st1, st2 := mustObject(t, a.Stages(), "s1", "identification"), mustObject(t, a.Stages(), "s2", "password")
	for _, x := range []struct {
		f     *store.Flow
		st    *store.Object
		order int
	}{
		{fc, st1, 10}, {fb, st1, 20}, {fa, st1, 10}, {fa, st2, 10}, {fc, st2, 30}, {fb, st2, 10}, {fa, st1, 30}, {fc, st1, 0},
	} {
		noErr(t, "bind", a.FlowStageBindings().Create(ctx, &store.FlowStageBinding{FlowID: x.f.ID, StageID: x.st.ID, Order: x.order}))
	}
	fo := mustFlow(t, b, "a-flow")
	sto := mustObject(t, b.Stages(), "s1", "identification")
	other := &store.FlowStageBinding{FlowID: fo.ID, StageID: sto.ID, Order: 5}
	noErr(t, "bind in b", b.FlowStageBindings().Create(ctx, other))

	// The reference: every flow, then each flow's bindings, then a stable sort.
	var want []*store.FlowStageBinding
	fs, _, err := a.Flows().List(ctx, store.FlowQuery{Page: store.Page{Size: store.MaxPageSize}})
	noErr(t, "list flows", err)
	for _, f := range fs {
		bs, err := a.FlowStageBindings().ListForFlow(ctx, f.ID)
		noErr(t, "ListForFlow", err)
		want = append(want, bs...)
	}
	ids := func(bs []*store.FlowStageBinding) []uuid.UUID {
		out := make([]uuid.UUID, len(bs))
		for i, x := range bs {
			out[i] = x.ID
		}
		return out
	}
	for _, ordering := range []string{"", "order", "-order"} {
		sorted := slices.Clone(want)
		sign := 1
		if ordering == "-order" {
			sign = -1
		}
		slices.SortStableFunc(sorted, func(x, y *store.FlowStageBinding) int { return sign * (x.Order - y.Order) })
		for _, size := range []int{0, 1, 3, 100} {
			last := len(sorted)/(store.Page{Size: size}).Normalize().Size + 2 // past the end
			for n := 1; n <= last; n++ {
				what := fmt.Sprintf("List ordering %q page %d size %d", ordering, n, size)
				page := store.Page{Number: n, Size: size}
				got, total, err := a.FlowStageBindings().List(ctx, store.FlowStageBindingQuery{Ordering: ordering, Page: page})
				p := page.Normalize()
				noErr(t, what, err)
				lo := min(p.Offset(), len(sorted))
				if exp := sorted[lo:min(lo+p.Size, len(sorted))]; !slices.Equal(ids(got), ids(exp)) || total != len(sorted) {
					t.Fatalf("%s: got %v (total %d), want %v (total %d)", what, ids(got), total, ids(exp), len(sorted))
				}
			}
		}
	}
	got, _, _ := a.FlowStageBindings().List(ctx, store.FlowStageBindingQuery{})
	if first := got[0]; first.Order != 0 || first.FlowID != fc.ID || first.StageID != st1.ID || first.InvalidResponseAction != "retry" ||
		first.Version != 1 || first.CreatedAt.IsZero() {
		t.Errorf("List's first binding: %+v", first)
	}
	_, _, err = a.FlowStageBindings().List(ctx, store.FlowStageBindingQuery{Ordering: "stage"})
	wantField(t, "List by an unknown field", err, "ordering")

	// Each tenant sees only its own.
	got, total, err := b.FlowStageBindings().List(ctx, store.FlowStageBindingQuery{})
	noErr(t, "List in b", err)
	if total != 1 || len(got) != 1 || got[0].ID != other.ID {
		t.Fatalf("tenant b lists %v (total %d)", ids(got), total)
	}
	noErr(t, "delete flow", a.Flows().Delete(ctx, fc.ID))
	if _, total, _ := a.FlowStageBindings().List(ctx, store.FlowStageBindingQuery{}); total != len(want)-3 {
		t.Fatalf("a deleted flow's bindings are still listed: total %d", total)
	}
}
