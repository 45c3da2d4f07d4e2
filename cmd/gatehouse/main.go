// Command gatehouse is the whole identity provider in one binary: the
// server, its migrations and the administrative commands.
//
// The CLI uses the standard library's flag package, one FlagSet per
// command: a dozen commands do not need a framework.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"syscall"
)

// command is one CLI verb. run gets the arguments after the verb.
type command struct {
	name    string // "user create"
	summary string
	run     func(ctx context.Context, a *cli, args []string) error
}

// cli is what every command may use: its streams, the environment lookup
// (tests pass a map) and the --config path.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) (string, bool)
	configPath     string
}

// usageError marks a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

var commands []command

func register(c command) { commands = append(commands, c) }

func main() {
	// Nothing reads heap profiles (no pprof endpoint), and sampling keeps
	// a bucket table of about 1.5 MB in an idle server.
	runtime.MemProfileRate = 0
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: os.LookupEnv}
	os.Exit(a.main(ctx, os.Args[1:]))
}

// main runs one command and returns the exit status.
func (a *cli) main(ctx context.Context, args []string) int {
	global := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.StringVar(&a.configPath, "config", "", "YAML configuration file (or GATEHOUSE_CONFIG)")
	help := global.Bool("help", false, "show help")
	global.BoolVar(help, "h", false, "show help")
	if err := global.Parse(args); err != nil {
		fmt.Fprintf(a.stderr, "gatehouse: %v\n\n", err)
		a.usage()
		return 2
	}
	args = global.Args()
	if *help || (len(args) > 0 && args[0] == "help") {
		a.usage()
		return 0
	}
	if len(args) == 0 {
		args = []string{"serve"}
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		fmt.Fprintf(a.stderr, "gatehouse: unknown command %q\n\n", strings.Join(args[:min(2, len(args))], " "))
		a.usage()
		return 2
	}
	err := cmd.run(ctx, a, rest)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "gatehouse %s: %s\nRun 'gatehouse %s --help' for usage.\n", cmd.name, ue.msg, cmd.name)
		return 2
	default:
		fmt.Fprintf(a.stderr, "gatehouse %s: %v\n", cmd.name, err)
		return 1
	}
}

// lookup finds the command with the longest name that prefixes args.
func lookup(args []string) (*command, []string) {
	var best *command
	bestLen := 0
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(words) > len(args) || len(words) <= bestLen {
			continue
		}
		match := true
		for j, w := range words {
			if args[j] != w {
				match = false
				break
			}
		}
		if match {
			best, bestLen = &commands[i], len(words)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, args[bestLen:]
}

func (a *cli) usage() {
	fmt.Fprint(a.stderr, `gatehouse — identity provider (OIDC, SAML, LDAP, forward auth) in one binary.

Usage: gatehouse [--config FILE] <command> [flags]

Commands:
`)
	sorted := append([]command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(a.stderr, "  %-22s %s\n", c.name, c.summary)
	}
	fmt.Fprint(a.stderr, `
With no command, gatehouse serves. Configuration comes from the file, then
GATEHOUSE_* (or Authentik's AUTHENTIK_*) environment variables; see
docs/configuration.md. 'gatehouse <command> --help' describes a command.
`)
}

// flags returns a FlagSet for cmd that reports errors instead of exiting
// and prints a usage line and the flag list on --help.
func (a *cli) flags(name, args, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "Usage: %s\n\n%s\n", strings.TrimSpace("gatehouse "+name+" "+args), about)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(a.stderr, "\nFlags:")
			fs.SetOutput(a.stderr)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
	}
	return fs
}

// parse parses args, turning flag errors into usage errors and refusing
// stray positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	// Parse calls Usage on every error; only --help should get the whole
	// text, a mistake gets one line and a pointer to --help.
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		usage()
		return err
	}
	if err != nil {
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
