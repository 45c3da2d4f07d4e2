// Package expression runs the small Python programs that Authentik admins
// write for expression policies and property (scope) mappings, sandboxed.
//
// An expression is the body of a function: it may `return` at top level,
// and sees Authentik's names (request, user, context, http_request,
// ak_message, ak_is_group_member, ak_user_by, ak_create_event, ak_logger,
// regex_match, regex_replace, list_flatten, slugify, ak_client_ip,
// ak_is_sso_flow). A policy passes when the returned value is truthy
// (Truthy); a mapping's value is the returned value, converted to JSON-like
// Go values. Compile once (Compile), then Run concurrently any number of
// times with each request's input. docs/expressions.md is the user guide.
//
// # Why go.starlark.net
//
// Starlark is a dialect of Python: the expressions Authentik users already
// have keep working, or need small edits (no try/except, no f-strings; `x
// is None` is accepted and rewritten to `x == None`). It is hermetic (no
// I/O, no imports, nothing but what we predeclare), deterministic, counts
// execution steps (Thread.SetMaxExecutionSteps) and can be cancelled from
// another goroutine (Thread.Cancel). CEL (cel-go) is safer still — not
// Turing-complete, with static cost estimates — but it is not Python:
// every existing policy would have to be rewritten. expr-lang is fast but
// Go-like for the same reason. We keep one language.
//
// # The sandbox
//
// Each protection below is tested (sandbox_test.go) by an expression that
// would escape it:
//
//   - No names but ours and Starlark's pure builtins; load statements are
//     rejected at compile time and the thread's Load fails; print does
//     nothing (Starlark's default writes to stderr).
//   - Steps: Limits.MaxSteps, counted by the interpreter. A hook every
//     1024 steps also bounds the call depth to 1000, Python's limit
//     (Starlark's own is 100 000 frames, ~140 MB of goroutine stack).
//   - Time: the run's context (Limits.Timeout or the caller's deadline,
//     the earlier) cancels the thread. The interpreter checks between
//     instructions; a single builtin may not, so the interpreter runs on
//     its own goroutine and Run returns at the deadline plus 100 ms even
//     if the builtin is still busy (the goroutine ends when it does).
//   - Memory: one step can allocate without bound ("a" * (1 << 29), string
//     doubling, str() of a list shared a million times). The compiler's
//     syntax tree is rewritten (rewrite.go) so that +, -, *, %, |, &, ^,
//     slicing and the methods that copy (format, join, replace, extend,
//     split, items, ...) call guards (guard.go), and the copying builtins
//     (list, sorted, str, ...) are replaced. Guards refuse any single value
//     longer than Limits.MaxValueLen and charge what they build against a
//     per-run budget of 64 × MaxValueLen bytes, so that a loop keeping
//     copies cannot fill the memory either. Integers are capped at 65 536
//     bits and int("...") at 4300 digits, as Python does.
//   - Panics in helpers, in conversion or in the interpreter become
//     errors; values convert with depth and size bounds (cycles, shared
//     structures).
//
// What remains: the guards bound what an expression builds, not every
// byte the interpreter allocates (a few dozen bytes per step at most), and
// a builtin that is stuck in exponential work (hashing or comparing a
// deeply self-nested tuple) keeps its goroutine busy after Run returned.
// Expressions are written by administrators; these bounds keep their
// mistakes, and most of their malice, from taking the server down.
package expression
