// Package config loads Gatehouse's start-up configuration: built-in
// defaults, then an optional YAML file, then the environment, validated as a
// whole so that every mistake is reported at once, each naming its setting
// by YAML path and environment variable.
//
// Every setting is a field of Config, and the yaml tag on the field is the
// only place its name is written. A reflection walk over the struct derives
// the file path (listen.http), the variable (GATEHOUSE_LISTEN__HTTP) and
// the Authentik alias (AUTHENTIK_LISTEN__HTTP), so that deployments written
// for Authentik keep working and a new setting cannot be forgotten by the
// loader, the validator, Redacted or the documentation test. Struct tags
// also mark secrets (secret:"true") and name each value's check.
//
// Values may be Authentik's env://VAR?default and file:///path?default
// references, and every variable has a NAME_FILE twin for Docker and
// Kubernetes secrets. Durations accept Go, Authentik ("hours=1;minutes=30")
// and plain-seconds syntax through ParseDuration, which the flow engine
// reuses for stage settings.
//
// YAML is read with go.yaml.in/yaml/v3: the YAML organisation took over
// gopkg.in/yaml.v3 when its author marked it unmaintained (April 2025), and
// this is the maintained home of the same API. Its Node API
// keeps the line of every key and value, which is what lets the loader be
// strict: the file is walked against the settings table instead of being
// decoded into the struct, so an unknown key is an error with its line and
// the keys allowed there (decoder.KnownFields would name a Go type instead),
// a wrong type is an error naming the setting, and file values go through
// the same parsers as environment values.
package config
