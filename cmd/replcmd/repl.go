// Package replcmd is the interactive session: `carebook` on a terminal, or
// `carebook repl`. Plain-language requests go to the model; slash commands
// run the plain commands without one.
package replcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chzyer/readline"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/session"
	"github.com/carebook/carebook/history"
	"github.com/carebook/carebook/tools"
)

// Options holds the REPL's dependencies.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	// RunCommand runs a plain carebook command line, for slash commands.
	RunCommand func(ctx context.Context, args []string) error
	// Interrupts delivers Ctrl-C while a request is in flight. Nil means
	// the process's SIGINT.
	Interrupts <-chan os.Signal
	// HistoryFile keeps history across sessions when set (history = true
	// in the configuration); empty keeps it in memory only.
	HistoryFile func() (string, error)
}

// NewCmdREPL builds `carebook repl`.
func NewCmdREPL(f *cmdutil.Factory, runCommand func(context.Context, []string) error) *cobra.Command {
	opts := NewOptions(f, runCommand)
	cmd := &cobra.Command{
		Use:   "repl",
		Short: "Start an interactive session (the default on a terminal)",
		Long: `Type requests in plain language, or slash commands (/help lists them) that
work without a model. Ctrl-C stops the request in flight, Ctrl-D or /bye
leaves. History lives in memory only and is gone when the session ends,
unless the configuration file says history = true: then it is kept beside
the database (mode 0600), and forget removes the lines that name a patient.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return Run(cmd.Context(), opts)
		},
	}
	cmdutil.AddModelFlags(cmd, f)
	return cmd
}

// NewOptions builds the REPL's options from the factory.
func NewOptions(f *cmdutil.Factory, runCommand func(context.Context, []string) error) *Options {
	return &Options{IO: f.IOStreams, Backend: f.ExistingBackend, RunCommand: runCommand,
		HistoryFile: func() (string, error) {
			cfg, err := f.Config()
			if err != nil || !cfg.History {
				return "", err
			}
			abs, err := filepath.Abs(f.DatabasePath())
			if err != nil {
				return "", err
			}
			return history.Path(abs), nil
		}}
}

// slashCommands are the plain commands the REPL offers, mapped to the
// carebook command line they run.
var slashCommands = []struct{ name, args, help string }{
	{"/patients", "[NAME] [--tag T] [--status S]", "list or search patients"},
	{"/show", "PATIENT", "one patient's record"},
	{"/tag", "add|remove TAG PATIENT...", "add or remove a tag"},
	{"/tags", "", "list tags with counts"},
	{"/log", "PATIENT --channel C --summary S", "log a call, text, email…"},
	{"/help", "", "this list"},
	{"/bye", "", "leave (or Ctrl-D)"},
}

// Run runs the session until Ctrl-D or /bye.
func Run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	// Ask once up front, so that a missing database or a refused login is
	// said at once.
	info, err := b.Info(ctx)
	if err != nil {
		return err
	}
	if _, err := b.Tags(ctx); err != nil {
		return err
	}

	historyFile := ""
	if opts.HistoryFile != nil {
		if historyFile, err = opts.HistoryFile(); err != nil {
			return err
		}
		if historyFile != "" {
			if err := history.Prepare(historyFile); err != nil {
				return err
			}
		}
	}

	comp := &completer{b: b}
	stdin, ok := opts.IO.In.(io.ReadCloser)
	if !ok {
		stdin = io.NopCloser(opts.IO.In)
	}
	cfg := &readline.Config{
		Prompt:         "carebook> ",
		HistoryFile:    historyFile, // "" keeps it in memory: requests name patients
		HistoryLimit:   500,
		AutoComplete:   comp,
		Stdin:          stdin,
		Stdout:         opts.IO.TerminalOut(),
		Stderr:         opts.IO.TerminalErr(),
		FuncIsTerminal: opts.IO.CanPrompt,
	}
	// readline turns completion off on a terminal that reports no width
	// (a bare pty, some serial consoles), so assume 80 columns then.
	cfg.FuncGetWidth = func() int {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
			return w
		}
		return 80
	}
	if _, isFile := opts.IO.In.(*os.File); !isFile {
		// Streams that only pretend to be a terminal (tests) have no modes
		// to switch and no width to ask for.
		cfg.FuncMakeRaw = func() error { return nil }
		cfg.FuncExitRaw = func() error { return nil }
		cfg.FuncGetWidth = func() int { return 100 }
		cfg.FuncOnWidthChanged = func(func()) {}
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return fmt.Errorf("start the line editor: %w", err)
	}
	defer rl.Close()
	opts.IO.Prompter = func(prompt string) (string, error) {
		rl.SetPrompt(prompt)
		defer rl.SetPrompt("carebook> ")
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			return "", cmdutil.ErrCancelled
		}
		if errors.Is(err, io.EOF) {
			return "", cmdutil.ErrNoAnswer
		}
		return line, err
	}
	defer func() { opts.IO.Prompter = nil }()

	interrupts := opts.Interrupts
	if interrupts == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		interrupts = ch
	}
	// The session outlives a Ctrl-C, which only stops the request in flight;
	// main's context is cancelled by that same signal, so it is not used.
	base := context.WithoutCancel(ctx)

	s := &session.Session{IO: opts.IO, Backend: b, Channel: cmdutil.ChannelREPL,
		Choose: func(ctx context.Context, candidates []tools.PatientBrief) (int, error) {
			return choosePatient(opts.IO, candidates)
		}}

	fmt.Fprintln(opts.IO.Out, banner(info))
	for {
		line, err := rl.Readline()
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			continue // Ctrl-C at the prompt clears the line, as in a shell
		case errors.Is(err, io.EOF):
			fmt.Fprintln(opts.IO.Out)
			return nil
		case err != nil:
			return fmt.Errorf("read a line: %w", err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if line == "/bye" || line == "/quit" || line == "/exit" {
			return nil
		}

		reqCtx, cancel := context.WithCancel(base)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sig := <-interrupts:
				if sig == syscall.SIGTERM {
					fmt.Fprintln(opts.IO.ErrOut, "terminated")
				}
				cancel()
			case <-stop:
			}
		}()
		if strings.HasPrefix(line, "/") {
			err = runSlash(reqCtx, opts, line)
			comp.forget() // a slash command may have added a tag
		} else {
			_, err = s.Ask(reqCtx, line, session.Options{})
			comp.forget()
		}
		close(stop)
		wg.Wait()
		cancelled := reqCtx.Err() != nil
		cancel()
		report(opts.IO, err, cancelled)
	}
}

// report prints what went wrong with one request, and keeps the session.
func report(ios *cmdutil.IOStreams, err error, cancelled bool) {
	var msg *backend.MessageError
	switch {
	case err == nil:
	case cancelled || errors.Is(err, context.Canceled) || errors.Is(err, cmdutil.ErrCancelled):
		fmt.Fprintln(ios.ErrOut, "Cancelled; nothing was written.")
	case errors.As(err, &msg), errors.Is(err, cmdutil.ErrSilent):
		// Already shown.
	default:
		fmt.Fprintln(ios.ErrOut, err)
	}
}

func runSlash(ctx context.Context, opts *Options, line string) error {
	args, err := splitArgs(strings.TrimPrefix(line, "/"))
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return nil
	}
	switch args[0] {
	case "help", "?":
		printHelp(opts.IO.Out)
		return nil
	case "tags":
		args = []string{"tag", "list"}
	case "patients", "show", "tag", "log":
	default:
		return fmt.Errorf("there is no /%s; /help lists the commands", args[0])
	}
	err = opts.RunCommand(ctx, args)
	var flagErr *cmdutil.FlagError
	if errors.As(err, &flagErr) {
		return fmt.Errorf("%w (/help lists the commands)", err)
	}
	return err
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "Ask in plain language, for example:")
	fmt.Fprintln(w, "  who has a birthday in June")
	fmt.Fprintln(w, "  tag everyone who no-showed in the last 6 months as no-show-risk")
	fmt.Fprintln(w, "Changes are previewed and need a yes. Slash commands need no model:")
	t := cmdutil.NewTable(w, true)
	for _, c := range slashCommands {
		t.Row("  "+c.name+" "+c.args, c.help)
	}
	t.Flush()
}

// banner says what the session is connected to, as psql does.
func banner(info *backend.Info) string {
	who := info.OSUser
	if info.Staff != "" {
		who = info.Staff + " (" + info.Role + ")"
	}
	where := info.Database
	if info.Mode == "server" {
		where = "carebook serve at " + info.Server
	}
	return fmt.Sprintf("Carebook: %s as %s, model %s. Ask in plain language, or type /help. Ctrl-D leaves.", where, who, info.Model)
}

// choosePatient offers a numbered choice between namesakes. The backend
// audited the list when it made it.
func choosePatient(ios *cmdutil.IOStreams, candidates []tools.PatientBrief) (int, error) {
	fmt.Fprintf(ios.Out, "%d patients match. Which one?\n", len(candidates))
	for i, p := range candidates {
		born := p.DOB
		if born == "" {
			born = "unknown"
		}
		fmt.Fprintf(ios.Out, "  %d) %s  %s  born %s\n", i+1, p.MRN, p.Name, born)
	}
	answer, err := ios.Ask(fmt.Sprintf("Number (1-%d, Enter to cancel): ", len(candidates)))
	if err != nil {
		return -1, err
	}
	answer = strings.TrimSpace(answer)
	if answer == "" {
		return -1, cmdutil.ErrCancelled
	}
	n, err := strconv.Atoi(answer)
	if err != nil || n < 1 || n > len(candidates) {
		return -1, fmt.Errorf("%q is not one of 1-%d; nothing was done", answer, len(candidates))
	}
	return n - 1, nil
}

// splitArgs splits a slash command like a shell would: spaces separate,
// quotes group, a backslash escapes.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inArg = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inArg = r, true
		case r == ' ' || r == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("a quote is not closed")
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// completer completes slash commands, tag names and patient names. Tags
// are loaded on the first Tab and again after anything that may have
// changed them; names are asked of the backend for what was typed (two
// characters at least, at most 50 names, each lookup audited), never all
// loaded into the session.
type completer struct {
	b backend.Reader

	mu     sync.Mutex
	loaded bool
	tags   []string
}

func (c *completer) forget() {
	c.mu.Lock()
	c.loaded = false
	c.mu.Unlock()
}

func (c *completer) load() {
	if c.loaded {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tags, err := c.b.Complete(ctx, backend.CompleteRequest{Channel: cmdutil.ChannelREPL, Kind: backend.CompleteTags})
	if err != nil {
		return
	}
	c.tags = tags
	c.loaded = true
}

// names asks the backend for names beginning with typed.
func (c *completer) names(typed string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	names, _ := c.b.Complete(ctx, backend.CompleteRequest{Channel: cmdutil.ChannelREPL, Kind: backend.CompleteNames, Prefix: typed})
	return names
}

// Do implements readline.AutoCompleter.
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	head := string(line[:pos])
	// The word being completed, or for a name the last two words, so that
	// "/show Maria Ga" completes the surname.
	start := strings.LastIndexAny(head, " \t") + 1
	word := head[start:]
	if start == 0 && strings.HasPrefix(word, "/") {
		var out [][]rune
		for _, cmd := range slashCommands {
			if strings.HasPrefix(cmd.name, word) {
				out = append(out, []rune(cmd.name[len(word):]+" "))
			}
		}
		return out, len([]rune(word))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load()
	var out [][]rune
	lw := strings.ToLower(word)
	if word != "" {
		for _, t := range c.tags {
			if strings.HasPrefix(t, lw) {
				out = append(out, []rune(t[len(lw):]+" "))
			}
		}
	}
	// Names: match what was typed since the last opening quote, or the last
	// one or two words.
	for _, typed := range nameCandidates(head) {
		var hits [][]rune
		for _, n := range c.names(typed) {
			// The backend matched ignoring case and accents; readline
			// inserts the rest of the name after what was typed.
			if r := []rune(n); len(r) > len([]rune(typed)) {
				hits = append(hits, r[len([]rune(typed)):])
			}
		}
		// readline inserts a candidate at the cursor, so the remainder of
		// the name completes even when the typed part spans two words.
		if len(hits) > 0 && len(hits) <= 50 {
			return append(out, hits...), len([]rune(word))
		}
	}
	return out, len([]rune(word))
}

func nameCandidates(head string) []string {
	var out []string
	if i := strings.LastIndexAny(head, `"'`); i >= 0 && strings.Count(head[i:], " ") <= 3 {
		out = append(out, head[i+1:])
	}
	fields := strings.Fields(head)
	if len(fields) >= 2 && !strings.HasSuffix(head, " ") {
		out = append(out, strings.Join(fields[len(fields)-2:], " "))
	}
	if len(fields) >= 1 && !strings.HasSuffix(head, " ") && len(fields[len(fields)-1]) >= 2 {
		out = append(out, fields[len(fields)-1])
	}
	return out
}

var _ readline.AutoCompleter = (*completer)(nil)
