package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// roleView is the --json shape of a role.
type roleView struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	CreatedAt   *string `json:"created_at"`
}

func viewRole(r storage.Role) roleView { return roleView{r.ID, r.Name, r.Description, ts(r.CreatedAt)} }

func roleRow(r roleView) []string { return []string{r.ID, r.Name, r.Description, orDash(r.CreatedAt)} }

var roleHeader = []string{"ID", "NAME", "DESCRIPTION", "CREATED_AT"}

// permissionView is the --json shape of a permission; Sources, for a
// user's, says where it comes from ("direct" and role IDs).
type permissionView struct {
	Audience string   `json:"audience"`
	Scope    string   `json:"scope"`
	Sources  []string `json:"sources,omitempty"`
}

func viewPermission(p storage.Permission) permissionView {
	return permissionView{Audience: p.Audience, Scope: p.Scope}
}

func viewHeld(h admin.HeldPermission) permissionView {
	v := viewPermission(h.Permission)
	if h.Direct {
		v.Sources = append(v.Sources, "direct")
	}
	for _, r := range h.Roles {
		v.Sources = append(v.Sources, r.ID)
	}
	return v
}

func permissionRow(p permissionView) []string {
	return []string{p.Audience, p.Scope, strings.Join(p.Sources, " ")}
}

var permissionHeader = []string{"AUDIENCE", "SCOPE", "SOURCES"}

// permissionFlags are --api URI and --scope VALUE (repeatable): the
// permissions of one API a command adds or removes.
type permissionFlags struct {
	api    string
	scopes []string
}

func (p *permissionFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.api, "api", "", "the API's identifier")
	cmd.Flags().StringArrayVar(&p.scopes, "scope", nil, "a scope of the API (repeatable)")
	_ = cmd.MarkFlagRequired("api")
}

func (p *permissionFlags) list() ([]storage.Permission, error) {
	if len(p.scopes) == 0 {
		return nil, errors.New("give at least one --scope")
	}
	out := make([]storage.Permission, len(p.scopes))
	for i, s := range p.scopes {
		out[i] = storage.Permission{Audience: p.api, Scope: s}
	}
	return out, nil
}

// permissionCmd is "NAME add|remove TARGET --api URI --scope S...", for a
// role's or a user's permissions.
func (a *app) permissionCmd(use, short, target string, add, remove func(ctx context.Context, svc *admin.Service, target string, perms []storage.Permission) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	for _, op := range []struct {
		name, short string
		do          func(ctx context.Context, svc *admin.Service, target string, perms []storage.Permission) error
	}{{"add", "Give permissions", add}, {"remove", "Take permissions away", remove}} {
		var pf permissionFlags
		c := &cobra.Command{
			Use: op.name + " " + target + " --api URI --scope VALUE...", Short: op.short, Args: exactArgs(target),
			RunE: a.withUsers(func(cmd *cobra.Command, args []string, svc *admin.Service) error {
				perms, err := pf.list()
				if err != nil {
					return err
				}
				if err := op.do(cmd.Context(), svc, args[0], perms); err != nil {
					return err
				}
				return printList(a.out(), perms, viewPermission, permissionRow, permissionHeader)
			}),
		}
		pf.add(c)
		cmd.AddCommand(c)
	}
	return cmd
}

// roleCmd manages roles and their permissions (Auth0's RBAC), on the
// database.
func (a *app) roleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "role", Short: "Manage roles: named sets of API permissions that users hold", PersistentPreRunE: a.refuseRemote}
	var name, description string
	create := &cobra.Command{
		Use: "create --name N [--description D]", Short: "Create a role", Args: cobra.NoArgs,
		RunE: a.withUsers(func(cmd *cobra.Command, _ []string, svc *admin.Service) error {
			r, err := svc.CreateRole(cmd.Context(), name, description)
			if err != nil {
				return err
			}
			return a.showRole(r, nil)
		}),
	}
	create.Flags().StringVar(&name, "name", "", "the role's name (unique)")
	create.Flags().StringVar(&description, "description", "", "what the role is for")
	_ = create.MarkFlagRequired("name")
	list := &cobra.Command{
		Use: "list", Short: "List roles", Args: cobra.NoArgs,
		RunE: a.withUsers(func(cmd *cobra.Command, _ []string, svc *admin.Service) error {
			roles, err := svc.ListRoles(cmd.Context())
			if err != nil {
				return err
			}
			return printList(a.out(), roles, viewRole, roleRow, roleHeader)
		}),
	}
	show := &cobra.Command{
		Use: "show ROLE_ID", Short: "Show a role and its permissions", Args: exactArgs("ROLE_ID"),
		RunE: a.withUsers(func(cmd *cobra.Command, args []string, svc *admin.Service) error {
			r, err := svc.GetRole(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			perms, err := svc.RolePermissions(cmd.Context(), r.ID)
			if err != nil {
				return err
			}
			return a.showRole(r, perms)
		}),
	}
	del := &cobra.Command{
		Use: "delete ROLE_ID", Short: "Delete a role: its users lose its permissions with their next token", Args: exactArgs("ROLE_ID"),
		RunE: a.withUsers(func(cmd *cobra.Command, args []string, svc *admin.Service) error {
			if err := svc.DeleteRole(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.deleted("role", args[0])
		}),
	}
	perms := a.permissionCmd("permission", "Give a role permissions (scopes of an API), or take them away", "ROLE_ID",
		func(ctx context.Context, svc *admin.Service, id string, p []storage.Permission) error {
			return svc.AddRolePermissions(ctx, id, p)
		},
		func(ctx context.Context, svc *admin.Service, id string, p []storage.Permission) error {
			return svc.RemoveRolePermissions(ctx, id, p)
		})
	cmd.AddCommand(create, list, show, del, perms)
	return cmd
}

func (a *app) showRole(r storage.Role, perms []storage.Permission) error {
	type shown struct {
		roleView
		Permissions []permissionView `json:"permissions"`
	}
	v := shown{viewRole(r), mapViews(perms, viewPermission)}
	list := make([]string, len(perms))
	for i, p := range perms {
		list[i] = p.Audience + " " + p.Scope
	}
	return a.out().fields(v, [2]string{"id", r.ID}, [2]string{"name", r.Name}, [2]string{"description", r.Description},
		[2]string{"permissions", strings.Join(list, ", ")}, [2]string{"created_at", orDash(v.CreatedAt)})
}

func mapViews[T, V any](items []T, f func(T) V) []V {
	out := make([]V, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	return out
}

// userRoleCmds are "user role add|remove" and "user permission
// add|remove|list".
func (a *app) userRoleCmds() []*cobra.Command {
	roles := &cobra.Command{Use: "role", Short: "Give a user roles, or take them away"}
	for _, op := range []struct {
		name, short string
		do          func(svc *admin.Service) func(ctx context.Context, user string, roles []string) error
	}{
		{"add", "Give a user roles", func(svc *admin.Service) func(context.Context, string, []string) error { return svc.AssignRoles }},
		{"remove", "Take roles from a user: their permissions go with the user's next token", func(svc *admin.Service) func(context.Context, string, []string) error {
			return svc.UnassignRoles
		}},
	} {
		roles.AddCommand(&cobra.Command{
			Use: op.name + " ID|EMAIL ROLE_ID...", Short: op.short, Args: cobra.MinimumNArgs(2),
			RunE: a.withUsers(func(cmd *cobra.Command, args []string, svc *admin.Service) error {
				if err := op.do(svc)(cmd.Context(), args[0], args[1:]); err != nil {
					return err
				}
				held, err := svc.UserRoles(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return printList(a.out(), held, viewRole, roleRow, roleHeader)
			}),
		})
	}
	perms := a.permissionCmd("permission", "Give a user permissions directly, take them away, or list what the user holds", "ID|EMAIL",
		func(ctx context.Context, svc *admin.Service, u string, p []storage.Permission) error {
			return svc.AddUserPermissions(ctx, u, p)
		},
		func(ctx context.Context, svc *admin.Service, u string, p []storage.Permission) error {
			return svc.RemoveUserPermissions(ctx, u, p)
		})
	perms.AddCommand(&cobra.Command{
		Use: "list ID|EMAIL", Short: "List the permissions a user holds, directly and through roles", Args: exactArgs("ID|EMAIL"),
		RunE: a.withUsers(func(cmd *cobra.Command, args []string, svc *admin.Service) error {
			held, err := svc.UserPermissions(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printList(a.out(), held, viewHeld, permissionRow, permissionHeader)
		}),
	})
	return []*cobra.Command{roles, perms}
}
