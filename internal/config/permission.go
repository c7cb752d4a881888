package config

import (
	"os"
	"regexp"
	"slices"
	"strings"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// Permission is the permission section: Backstage's permission.enabled
// plus Greenroom's role bindings, contractor policy (the seed's
// ContractorRBACPolicy) and extra Cedar policy files. Policy is what
// package access enforces; its Files hold the policy files' text, read at
// load so that config check validates them.
type Permission struct {
	Policy access.Policy
	// PolicyFiles are the paths of permission.policyFiles, resolved
	// against the declaring file's directory.
	PolicyFiles []string
}

// Defaults of the permission keys.
const (
	DefaultPermissionRole     = access.RoleDeveloper
	DefaultContractorRole     = access.RoleContractorViewer
	DefaultAuditRetentionDays = 365
	maxPermissionDays         = 36500
	maxPermissionMembers      = 10000
	maxPermissionBindings     = 1000
)

var namespacePattern = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

func init() {
	registerFeature(feature{
		sections: []string{"permission"},
		used: []string{
			"permission.enabled", "permission.defaultRole", "permission.policyFiles", "permission.auditRetentionDays",
			"permission.bindings", "permission.bindings[].role", "permission.bindings[].members",
			"permission.contractors", "permission.contractors.members", "permission.contractors.defaultRole",
			"permission.contractors.permissions", "permission.contractors.permissions.canCreateServices",
			"permission.contractors.permissions.canViewCostData", "permission.contractors.permissions.canTriggerDeployments",
			"permission.contractors.permissions.canAccessProduction", "permission.contractors.permissions.allowedNamespaces",
			"permission.contractors.permissions.dataRetentionDays",
			"permission.contractors.accessBoundaries", "permission.contractors.accessBoundaries.restrictedServices",
			"permission.contractors.accessBoundaries.allowedIntegrations",
			"permission.contractors.accessBoundaries.requiresApproval",
			"permission.contractors.accessBoundaries.approvers",
		},
		ignored:  []string{"permission.rbac"},
		decode:   func(d *decoder, root *node, c *Config) { d.permission(root, c) },
		validate: func(d *decoder, root *node, c *Config) { d.permissionRoles(root, c) },
	})
}

// defaultPolicy is the access policy when the section says nothing.
func defaultPolicy() access.Policy {
	return access.Policy{
		DefaultRole:        DefaultPermissionRole,
		AuditRetentionDays: DefaultAuditRetentionDays,
		Contractors: access.Contractors{
			DefaultRole: DefaultContractorRole,
			Permissions: access.ContractorPermissions{AllowedNamespaces: []string{"default"}},
		},
	}
}

func (d *decoder) permission(root *node, c *Config) {
	c.Permission.Policy = defaultPolicy()
	n := d.section(root, "permission")
	if n == nil {
		return
	}
	p := &c.Permission.Policy
	if v, ok := d.boolean(n.get("enabled"), "permission.enabled"); ok {
		p.Enabled = v
	}
	if dr := n.get("defaultRole"); dr != nil && dr.kind == kindNull {
		p.DefaultRole = ""
	} else {
		d.str(dr, "permission.defaultRole", &p.DefaultRole)
	}
	var days int64
	if d.integer(n.get("auditRetentionDays"), "permission.auditRetentionDays", "a number of days between 0 (keep forever) and 36500", 0, maxPermissionDays, &days) {
		p.AuditRetentionDays = int(days)
	}
	d.permissionBindings(n.get("bindings"), p)
	d.policyFiles(n.get("policyFiles"), c)
	if cn := d.mapping(n.get("contractors"), "permission.contractors"); cn != nil {
		d.contractors(cn, &p.Contractors)
	}
}

func (d *decoder) permissionBindings(n *node, p *access.Policy) {
	const path = "permission.bindings"
	if !set(n) {
		return
	}
	if n.kind != kindSeq {
		d.ps.expected(n.pos, path, "a list of {role, members}", n)
		return
	}
	if len(n.items) > maxPermissionBindings {
		d.ps.add(SeverityError, n.pos, path, "more than 1000 bindings")
		return
	}
	for i, it := range n.items {
		at := indexPath(path, i)
		if it.kind != kindMap {
			d.ps.expected(it.pos, at, "a mapping with role and members", it)
			continue
		}
		var b access.Binding
		ok := d.required(it, at, "role") && d.str(it.get("role"), at+".role", &b.Role)
		if d.required(it, at, "members") {
			b.Members = d.memberRefs(it.get("members"), at+".members")
		}
		if ok {
			p.Bindings = append(p.Bindings, b)
		}
	}
}

// refList reads a list of entity refs. goccy/go-yaml reads an item such
// as group:default/x inside a flow sequence ([group:default/x], the form
// the issue and Backstage's docs use) as a one-key mapping where js-yaml
// reads a string; such an item is taken back as the text it was.
func (d *decoder) refList(n *node, path string) []string {
	if !set(n) {
		return nil
	}
	if n.kind != kindSeq {
		d.ps.expected(n.pos, path, "a list of entity refs", n)
		return nil
	}
	out := make([]string, len(n.items))
	for i, it := range n.items {
		switch {
		case it.kind == kindString:
			out[i] = it.s
		case it.kind == kindMap && len(it.keys) == 1 && it.vals[it.keys[0]].kind == kindString:
			out[i] = it.keys[0] + ":" + it.vals[it.keys[0]].s
		}
	}
	return out
}

// memberRefs reads a list of user or group refs, lowercased.
func (d *decoder) memberRefs(n *node, path string) []string {
	list := d.refList(n, path)
	if len(list) > maxPermissionMembers {
		d.ps.add(SeverityError, n.pos, path, "more than 10000 members")
		return nil
	}
	var out []string
	for i, s := range list {
		r, err := greenroom.ParseEntityRef(s, "", "default")
		if s == "" || err != nil || (!strings.EqualFold(r.Kind, "user") && !strings.EqualFold(r.Kind, "group")) {
			d.ps.expected(n.items[i].pos, indexPath(path, i), "a user or group ref such as group:default/platform-team", n.items[i])
			continue
		}
		out = append(out, strings.ToLower(r.String()))
	}
	return out
}

func (d *decoder) policyFiles(n *node, c *Config) {
	const path = "permission.policyFiles"
	list := d.stringList(n, path)
	for i, s := range list {
		if s == "" {
			continue
		}
		at := n.items[i].pos
		file := resolveTarget(at, s)
		b, err := os.ReadFile(file)
		if err != nil {
			d.ps.add(SeverityError, at, indexPath(path, i), "cannot read policy file: "+err.Error())
			continue
		}
		c.Permission.PolicyFiles = append(c.Permission.PolicyFiles, file)
		c.Permission.Policy.Files = append(c.Permission.Policy.Files, access.PolicyFile{Name: file, Text: b})
	}
}

func (d *decoder) contractors(n *node, c *access.Contractors) {
	const path = "permission.contractors"
	if set(n.get("members")) {
		c.Members = d.memberRefs(n.get("members"), path+".members")
	}
	d.str(n.get("defaultRole"), path+".defaultRole", &c.DefaultRole)
	if pn := d.mapping(n.get("permissions"), path+".permissions"); pn != nil {
		pp := path + ".permissions"
		for key, dst := range map[string]*bool{
			"canCreateServices": &c.Permissions.CanCreateServices, "canViewCostData": &c.Permissions.CanViewCostData,
			"canTriggerDeployments": &c.Permissions.CanTriggerDeployments, "canAccessProduction": &c.Permissions.CanAccessProduction,
		} {
			if v, ok := d.boolean(pn.get(key), pp+"."+key); ok {
				*dst = v
			}
		}
		if ns := pn.get("allowedNamespaces"); set(ns) {
			c.Permissions.AllowedNamespaces = nil
			for i, s := range d.stringList(ns, pp+".allowedNamespaces") {
				if !namespacePattern.MatchString(strings.ToLower(s)) {
					d.ps.expected(ns.items[i].pos, indexPath(pp+".allowedNamespaces", i), "a namespace name such as default", ns.items[i])
					continue
				}
				c.Permissions.AllowedNamespaces = append(c.Permissions.AllowedNamespaces, strings.ToLower(s))
			}
		}
		var days int64
		if d.integer(pn.get("dataRetentionDays"), pp+".dataRetentionDays", "a number of days between 0 (the audit retention) and 36500", 0, maxPermissionDays, &days) {
			c.Permissions.DataRetentionDays = int(days)
		}
	}
	if bn := d.mapping(n.get("accessBoundaries"), path+".accessBoundaries"); bn != nil {
		bp := path + ".accessBoundaries"
		rs := bn.get("restrictedServices")
		for i, s := range d.refList(rs, bp+".restrictedServices") {
			r, err := greenroom.ParseEntityRef(s, "", "")
			if s == "" || err != nil || !strings.Contains(s, ":") || !strings.Contains(s, "/") {
				d.ps.expected(rs.items[i].pos, indexPath(bp+".restrictedServices", i), "a full entity ref such as component:default/payments-core", rs.items[i])
				continue
			}
			c.Boundaries.RestrictedServices = append(c.Boundaries.RestrictedServices, strings.ToLower(r.String()))
		}
		ai := bn.get("allowedIntegrations")
		for i, s := range d.stringList(ai, bp+".allowedIntegrations") {
			if s == "" {
				d.ps.expected(ai.items[i].pos, indexPath(bp+".allowedIntegrations", i), "an integration name such as github", ai.items[i])
				continue
			}
			c.Boundaries.AllowedIntegrations = append(c.Boundaries.AllowedIntegrations, s)
		}
		ra := bn.get("requiresApproval")
		for i, s := range d.stringList(ra, bp+".requiresApproval") {
			if !access.KnownAction(s) {
				d.ps.expected(ra.items[i].pos, indexPath(bp+".requiresApproval", i), "an action: "+strings.Join(access.Actions, ", "), ra.items[i])
				continue
			}
			c.Boundaries.RequiresApproval = append(c.Boundaries.RequiresApproval, s)
		}
		if set(bn.get("approvers")) {
			c.Boundaries.Approvers = d.memberRefs(bn.get("approvers"), bp+".approvers")
		}
	}
}

// permissionRoles compiles the policies (default and files) and checks
// that every role named in the section is one they define.
func (d *decoder) permissionRoles(root *node, c *Config) {
	n := root.get("permission")
	if n == nil || n.kind != kindMap {
		return
	}
	e, err := access.NewEngine(c.Permission.Policy)
	if err != nil {
		at := n.pos
		if pf := n.get("policyFiles"); pf != nil {
			at = pf.pos
		}
		d.ps.add(SeverityError, at, "permission.policyFiles", err.Error())
		return
	}
	roles := e.Roles()
	check := func(role string, rn *node, path string) {
		if role == "" || rn == nil || slices.Contains(roles, role) {
			return
		}
		msg := "unknown role \"" + role + "\"; the policies define " + strings.Join(roles, ", ")
		if s := suggest(role, roles); s != "" {
			msg += "; did you mean \"" + s + "\"?"
		}
		d.ps.add(SeverityError, rn.pos, path, msg)
	}
	p := c.Permission.Policy
	check(p.DefaultRole, n.get("defaultRole"), "permission.defaultRole")
	if bs := n.get("bindings"); bs != nil && bs.kind == kindSeq {
		for i, it := range bs.items {
			if it.kind == kindMap && it.get("role") != nil && it.get("role").kind == kindString {
				check(it.get("role").s, it.get("role"), indexPath("permission.bindings", i)+".role")
			}
		}
	}
	if cn := n.get("contractors"); cn != nil && cn.kind == kindMap {
		check(p.Contractors.DefaultRole, cn.get("defaultRole"), "permission.contractors.defaultRole")
	}
}
