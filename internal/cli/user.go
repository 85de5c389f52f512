package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// userView is the --json shape of a user: never the password hash.
type userView struct {
	UserID        string  `json:"user_id"`
	Email         string  `json:"email"`
	Name          string  `json:"name"`
	EmailVerified bool    `json:"email_verified"`
	Disabled      bool    `json:"disabled"`
	CreatedAt     *string `json:"created_at"`
	UpdatedAt     *string `json:"updated_at"`
}

func viewUser(u storage.User) userView {
	return userView{u.UserID, u.Email, u.Name, u.EmailVerified, u.Disabled, ts(u.CreatedAt), ts(u.UpdatedAt)}
}

func userRow(u userView) []string {
	return []string{u.UserID, u.Email, u.Name, fmt.Sprint(u.EmailVerified), fmt.Sprint(u.Disabled), orDash(u.CreatedAt)}
}

var userHeader = []string{"USER_ID", "EMAIL", "NAME", "EMAIL_VERIFIED", "DISABLED", "CREATED_AT"}

func (a *app) showUser(u storage.User) error {
	v := viewUser(u)
	r := userRow(v)
	return a.out().fields(v, [2]string{"user_id", r[0]}, [2]string{"email", r[1]}, [2]string{"name", r[2]},
		[2]string{"email_verified", r[3]}, [2]string{"disabled", r[4]}, [2]string{"created_at", r[5]},
		[2]string{"updated_at", orDash(v.UpdatedAt)})
}

// withUsers runs a user command on the database.
func (a *app) withUsers(run func(cmd *cobra.Command, args []string, svc *admin.Service) error) func(*cobra.Command, []string) error {
	return a.withStore(false, func(cmd *cobra.Command, args []string, s *session) error {
		return run(cmd, args, s.svc)
	})
}

// refuseRemote refuses --server (or GATEHOUSE_SERVER) for the user and role
// commands, which work on the database only, rather than ignore it.
func (a *app) refuseRemote(cmd *cobra.Command, _ []string) error {
	group := cmd // user or role: the command under the root
	for group.HasParent() && group.Parent().HasParent() {
		group = group.Parent()
	}
	what := group.Name() + "s" // users, roles
	if server, _ := cmd.Flags().GetString("server"); server != "" {
		return fmt.Errorf("%s works on the database only: --server does not cover %s yet; use the server's /api/v2/%s with an admin token, or give --db",
			cmd.CommandPath(), what, what)
	}
	if db := cmd.Flags().Lookup("db"); a.env.Getenv(EnvServer) != "" && (db == nil || !db.Changed) {
		return fmt.Errorf("%s works on the database only: %s does not cover %s yet; use the server's /api/v2/%s with an admin token, or give --db",
			cmd.CommandPath(), EnvServer, what, what)
	}
	return nil
}

// readPassword reads the password from standard input (its first line,
// without the line ending) with --password-stdin, or else asks for it twice
// on the terminal without echo. A password is never taken from a flag,
// which would leave it in the shell history and the process list.
func (a *app) readPassword(fromStdin bool) (string, error) {
	if !fromStdin {
		f, ok := a.env.Stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return "", errors.New("give --password-stdin and the password on standard input, or run on a terminal to be asked (a password is never a flag)")
		}
		return prompt(f, a.env.Stderr)
	}
	if a.env.Stdin == nil {
		return "", errors.New("--password-stdin: no standard input")
	}
	line, err := bufio.NewReader(io.LimitReader(a.env.Stdin, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("--password-stdin: standard input holds no password")
	}
	return line, nil
}

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage the users who log in through the login page", PersistentPreRunE: a.refuseRemote}
	var (
		in        admin.UserInput
		pwStdin   bool
		pwStdinSP bool
	)
	create := &cobra.Command{
		Use: "create --email E [--name N] [--password-stdin]", Short: "Create a user; the password comes from standard input or a prompt", Args: cobra.NoArgs,
		RunE: a.withUsers(func(cmd *cobra.Command, _ []string, svc *admin.Service) error {
			pw, err := a.readPassword(pwStdin)
			if err != nil {
				return err
			}
			in.Password = pw
			u, err := svc.CreateUser(cmd.Context(), in)
			if err != nil {
				return err
			}
			return a.showUser(u)
		}),
	}
	create.Flags().StringVar(&in.Email, "email", "", "the user's email address (unique regardless of case)")
	create.Flags().StringVar(&in.Name, "name", "", "the user's name (default: the email)")
	create.Flags().BoolVar(&in.EmailVerified, "email-verified", false, "mark the email address as verified")
	create.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	_ = create.MarkFlagRequired("email")

	list := &cobra.Command{
		Use: "list", Short: "List users", Args: cobra.NoArgs,
		RunE: a.withUsers(func(cmd *cobra.Command, _ []string, svc *admin.Service) error {
			list, err := svc.ListUsers(cmd.Context())
			if err != nil {
				return err
			}
			return printList(a.out(), list, viewUser, userRow, userHeader)
		}),
	}
	show := &cobra.Command{
		Use: "show ID|EMAIL", Short: "Show a user", Args: exactArgs("ID|EMAIL"),
		RunE: a.withUsers(func(cmd *cobra.Command, args []string, svc *admin.Service) error {
			u, err := svc.GetUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.showUser(u)
		}),
	}
	setDisabled := func(name string, disabled bool) *cobra.Command {
		short := "Enable a user"
		if disabled {
			short = "Disable a user: they can no longer log in"
		}
		return &cobra.Command{
			Use: name + " ID|EMAIL", Short: short, Args: exactArgs("ID|EMAIL"),
			RunE: a.withUsers(func(cmd *cobra.Command, args []string, svc *admin.Service) error {
				u, err := svc.SetUserDisabled(cmd.Context(), args[0], disabled)
				if err != nil {
					return err
				}
				return a.showUser(u)
			}),
		}
	}
	setPassword := &cobra.Command{
		Use: "set-password ID|EMAIL --password-stdin", Short: "Replace a user's password, read from standard input", Args: exactArgs("ID|EMAIL"),
		RunE: a.withUsers(func(cmd *cobra.Command, args []string, svc *admin.Service) error {
			pw, err := a.readPassword(pwStdinSP)
			if err != nil {
				return err
			}
			u, err := svc.SetUserPassword(cmd.Context(), args[0], pw)
			if err != nil {
				return err
			}
			return a.showUser(u)
		}),
	}
	setPassword.Flags().BoolVar(&pwStdinSP, "password-stdin", false, "read the password from the first line of standard input")
	cmd.AddCommand(create, list, show, setDisabled("disable", true), setDisabled("enable", false), setPassword)
	cmd.AddCommand(a.userRoleCmds()...)
	cmd.AddCommand(a.userRevokeTokensCmd())
	remoteFlags(cmd) // only to refuse them with a reason
	return cmd
}

// prompt asks for a password twice on the terminal, without echo.
func prompt(tty *os.File, out io.Writer) (string, error) {
	fmt.Fprint(out, "Password: ")
	first, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(out)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	fmt.Fprint(out, "Repeat the password: ")
	second, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(out)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	if string(first) != string(second) {
		return "", errors.New("the two passwords differ")
	}
	if len(first) == 0 {
		return "", errors.New("no password given")
	}
	return string(first), nil
}
