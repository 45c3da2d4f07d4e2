// Package store is Gatehouse's persistence contract: the model types, their
// validation, one small interface per aggregate, and the errors every
// backend returns (ErrNotFound, ErrConflict, ErrInvalid). Every
// tenant-owned aggregate is reached through a Scope, so no call can forget
// which tenant it acts for.
//
// Dependencies, and why: golang.org/x/text (unicode/norm, cases) computes
// IdentityKey, the NFKC and Unicode case-folded form in which usernames and
// email addresses are unique. The standard library has neither
// normalisation nor full case folding (strings.ToLower keeps "ß" apart
// from "SS" and "ｆ" from "f"), and the databases disagree: SQLite's lower()
// folds ASCII only. x/text is the Go team's own Unicode implementation,
// already in the module graph, and keeps the key the same on every engine.
package store
