package config

import "strings"

// Problem is one thing wrong with the configuration.
type Problem struct {
	// Setting is the YAML path of the setting at fault ("listen.http"),
	// or empty for a problem with the file as a whole.
	Setting string
	// Message says what is wrong and, where it helps, how to fix it.
	Message string
	// Source says where the offending value came from ("AUTHENTIK_LISTEN__HTTP",
	// "/etc/gatehouse/config.yml:4"); empty for defaults and missing values.
	Source string
	// allNames lists every variable that could set the setting, for
	// problems about a missing value: the operator must pick one.
	allNames bool
}

// String renders the problem as one line, naming the setting by its YAML
// path and its environment variable so that it can be found whichever way
// it was set.
func (p Problem) String() string {
	var b strings.Builder
	s := table.byPath[p.Setting]
	switch {
	case s != nil:
		b.WriteString(s.path + " (" + s.env)
		if p.allNames {
			b.WriteString(" / " + s.alias)
		}
		b.WriteString("): ")
	case p.Setting != "":
		b.WriteString(p.Setting + ": ")
	}
	b.WriteString(p.Message)
	// The setting's own variable is already named at the start of the line.
	if p.Source != "" && (s == nil || p.Source != s.env) {
		b.WriteString(" (from " + p.Source + ")")
	}
	return b.String()
}

// Errors is every problem Load found; it is returned as *Errors. Reporting
// them all at once spares the operator a restart per typo.
type Errors []Problem

// Error prints one problem per line.
func (e *Errors) Error() string {
	lines := make([]string, len(*e))
	for i, p := range *e {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
