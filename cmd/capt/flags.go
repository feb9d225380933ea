package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// parseFlags parses the arguments of a subcommand that takes flags only, fs being named
// after the command ("capt manager"). It prints what pflag leaves unsaid with
// ContinueOnError: --help (or -h) writes the usage to stdout; a bad flag or a positional
// argument writes the error and the usage to stderr. ok is true when the command should
// run; otherwise code is its exit code: 0 after --help, 2 after an error.
func parseFlags(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	// pflag would print its own usage to stderr on --help: the usage is ours to print.
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		printUsage(stdout, fs)
		return 0, false
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
	default:
		return 0, true
	}
	printUsage(stderr, fs)
	return 2, false
}

func printUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\nFlags:\n%s", fs.Name(), fs.FlagUsages())
}
