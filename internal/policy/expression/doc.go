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
//   - Time: the run's context (Limits.Timeout, 2 s by default, or the
//     caller's deadline, the earlier) cancels the thread. The interpreter
//     checks between instructions; the builtins that loop check in every
//     iteration (see Work below). A helper blocked outside Go's reach (a
//     database call that ignores its context) is abandoned: Run returns
//     at the deadline plus 100 ms regardless, and Running counts the
//     goroutine until it ends.
//   - Memory: one step can allocate without bound ("a" * (1 << 29), string
//     doubling, str() of a list shared a million times). The compiler's
//     syntax tree is rewritten (rewrite.go) so that +, -, *, %, |, &, ^,
//     <<, slicing and the methods that copy (format, join, replace,
//     extend, split, items, ...) call guards (guard.go), and the copying
//     builtins (list, sorted, str, zip, ...) are replaced. Guards refuse
//     any single value longer than Limits.MaxValueLen and charge what they
//     build against a per-run budget of 64 × MaxValueLen bytes, so that a
//     loop keeping copies cannot fill the memory either. Integers are
//     capped at 65 536 bits and int("...") at 4300 digits, as Python does.
//   - Work: one step can also work without bound without allocating:
//     hashing a tuple that holds itself twice at each of 30 levels visits
//     2^30 values, comparing lists shared a thousand times over 10^9,
//     building a set of integers whose hashes collide is quadratic, and
//     Go's regexp.ReplaceAllString may rescan its input for each match.
//     Comparisons, `in`, dict keys and subscripts are rewritten into
//     guards too (work.go), and the builtins and methods that hash,
//     compare or walk collections (set, dict, sorted, min, max, any, all,
//     list.index, set.union, dict.update, ...) and the regular
//     expressions (regexp.go) run as loops that spend a step per element
//     (or per character, times the pattern's size) and stop when the run
//     is stopped. Values are weighed before they are hashed (at most 1024
//     values in a key) or compared (at most MaxValueLen), and str() of a
//     value nested more than 100 levels deep is refused. Patterns are
//     bounded (4 KiB of text, 2000 compiled instructions) and the cache
//     of compiled patterns holds at most 4 MiB.
//   - Panics in helpers, in conversion or in the interpreter become
//     errors; values convert with depth and size bounds (cycles, shared
//     structures).
//
// What remains: the guards bound what an expression builds and does, not
// every byte the interpreter allocates (a few dozen bytes per step at
// most); linear scans of one string (find, count, split, `in`) are not
// charged as steps, but each is bounded by MaxValueLen bytes. The bounds
// are listed for users in docs/expressions.md ("Limits") and for
// operators in docs/security.md ("Expression sandbox bounds").
package expression
