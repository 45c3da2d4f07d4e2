package store

import (
	"errors"
	"fmt"
	"strings"
)

// The store's error contract. Callers test with errors.Is; the HTTP layers
// map them to 404, 409 and 400 without looking at driver errors.
var (
	// ErrNotFound is returned for a missing row, and equally for a row
	// that exists in another tenant: existence never leaks across tenants.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned for a unique-constraint violation or a
	// compare-and-swap update that lost to a concurrent writer.
	ErrConflict = errors.New("conflict")
	// ErrInvalid wraps a *ValidationError.
	ErrInvalid = errors.New("invalid")
)

// FieldError names one invalid field and why.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every invalid field of a write, so a form or an API
// client can show them all at once. It matches ErrInvalid under errors.Is.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid: " + strings.Join(parts, "; ")
}

func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Add records a problem with field; the message is formatted like fmt.Sprintf.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns e when it holds problems and nil otherwise, so validators can
// end with `return v.Err()`.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Invalid is a shorthand for a validation error on one field.
func Invalid(field, format string, args ...any) error {
	v := &ValidationError{}
	v.Add(field, format, args...)
	return v
}

// ConflictError says which unique value collided, for messages such as
// "username: already taken". It matches ErrConflict under errors.Is.
type ConflictError struct {
	Field string
}

func (e *ConflictError) Error() string {
	if e.Field == "" {
		return "conflict"
	}
	return e.Field + ": already exists"
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
