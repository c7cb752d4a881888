package config

import (
	"greenroom/internal/greenroom"
)

// Feishu is the feishu section: the Feishu (Lark) app the document
// migration reads as, how permissions map to catalog owners, and the
// default conversion options (the seed's ConversionConfig).
type Feishu struct {
	// BaseURL is feishu.baseUrl, the Open API host; default
	// https://open.feishu.cn (Lark: https://open.larksuite.com).
	BaseURL   string
	AppID     string // feishu.appId
	AppSecret Secret // feishu.appSecret
	// PermissionMapping is feishu.permissionMapping, tried in order.
	PermissionMapping []FeishuPermissionRule
	Conversion        FeishuConversion
	// TargetRoot is feishu.targetRoot: the folder under which migrations
	// started from the portal or the API may write (their targetDir is
	// relative to it). Default: <greenroom.dataDir>/feishu.
	TargetRoot string
}

// Configured reports whether an app is set up.
func (f Feishu) Configured() bool { return f.AppID != "" && f.AppSecret != "" }

// FeishuPermissionRule is one feishu.permissionMapping entry: collaborators
// matching FeishuMember (an open_id, chat or department id; empty for any)
// with at least FeishuRole (view, edit, full_access; empty for any) make
// Owner (an entity ref, kind group by default) the owner.
type FeishuPermissionRule struct {
	FeishuMember string
	FeishuRole   string
	Owner        string
}

// FeishuConversion is feishu.conversion.
type FeishuConversion struct {
	HandleImages       string // link (default), download, embed
	ConvertTables      bool   // default true
	PreserveComments   bool   // default false
	PreserveFormatting bool   // default true
}

// DefaultFeishuBaseURL is feishu.baseUrl's default.
const DefaultFeishuBaseURL = "https://open.feishu.cn"

// maxFeishuRules bounds feishu.permissionMapping.
const maxFeishuRules = 1000

func init() {
	registerFeature(feature{
		sections: []string{"feishu"},
		used: []string{"feishu.baseUrl", "feishu.appId", "feishu.appSecret", "feishu.targetRoot", "feishu.permissionMapping",
			"feishu.permissionMapping[].feishuMember", "feishu.permissionMapping[].feishuRole",
			"feishu.permissionMapping[].owner", "feishu.permissionMapping[].backstageRole",
			"feishu.conversion", "feishu.conversion.handleImages", "feishu.conversion.convertTables",
			"feishu.conversion.preserveComments", "feishu.conversion.preserveFormatting"},
		decode: func(d *decoder, root *node, c *Config) { d.feishu(root, &c.Feishu) },
	})
}

// Effective returns f with the defaults filled in when the section was
// absent (Config values decoded without a feishu section, or built in
// code, are zero).
func (f Feishu) Effective() Feishu {
	if f.BaseURL == "" {
		f.BaseURL = DefaultFeishuBaseURL
		f.Conversion = FeishuConversion{HandleImages: "link", ConvertTables: true, PreserveFormatting: true}
	}
	return f
}

func (d *decoder) feishu(root *node, f *Feishu) {
	n := d.section(root, "feishu")
	if n == nil {
		return
	}
	f.BaseURL = DefaultFeishuBaseURL
	f.Conversion = FeishuConversion{HandleImages: "link", ConvertTables: true, PreserveFormatting: true}
	d.baseURL(n.get("baseUrl"), "feishu.baseUrl", &f.BaseURL)
	d.str(n.get("appId"), "feishu.appId", &f.AppID)
	d.token(n.get("appSecret"), "feishu.appSecret", &f.AppSecret)
	d.str(n.get("targetRoot"), "feishu.targetRoot", &f.TargetRoot)
	if (f.AppID == "") != (f.AppSecret == "") {
		d.ps.add(SeverityError, n.pos, "feishu", "appId and appSecret go together: set both or neither")
	}
	if conv := d.mapping(n.get("conversion"), "feishu.conversion"); conv != nil {
		d.enum(conv.get("handleImages"), "feishu.conversion.handleImages", []string{"link", "download", "embed"}, &f.Conversion.HandleImages)
		for key, dst := range map[string]*bool{"convertTables": &f.Conversion.ConvertTables,
			"preserveComments": &f.Conversion.PreserveComments, "preserveFormatting": &f.Conversion.PreserveFormatting} {
			if v, ok := d.boolean(conv.get(key), "feishu.conversion."+key); ok {
				*dst = v
			}
		}
	}
	pm := n.get("permissionMapping")
	if !set(pm) {
		return
	}
	if pm.kind != kindSeq {
		d.ps.expected(pm.pos, "feishu.permissionMapping", "a list of {feishuMember, feishuRole, owner}", pm)
		return
	}
	if len(pm.items) > maxFeishuRules {
		d.ps.add(SeverityError, pm.pos, "feishu.permissionMapping", "more than 1000 rules")
		return
	}
	for i, it := range pm.items {
		path := indexPath("feishu.permissionMapping", i)
		if it.kind != kindMap {
			d.ps.expected(it.pos, path, "a mapping with feishuMember, feishuRole and owner", it)
			continue
		}
		var r FeishuPermissionRule
		d.str(it.get("feishuMember"), path+".feishuMember", &r.FeishuMember)
		role := it.get("feishuRole")
		d.enum(role, path+".feishuRole", []string{"view", "edit", "full_access"}, &r.FeishuRole)
		// The seed names the target backstageRole; owner is the key
		// documented here, backstageRole its alias.
		owner := it.get("owner")
		key := "owner"
		if !set(owner) {
			owner, key = it.get("backstageRole"), "backstageRole"
		}
		if !set(owner) {
			d.ps.add(SeverityError, it.pos, path+".owner", "owner is required: the entity ref of the owning group, e.g. group:default/payments")
			continue
		}
		if !d.str(owner, path+"."+key, &r.Owner) {
			continue
		}
		if _, err := greenroom.ParseEntityRef(r.Owner, "group", "default"); err != nil {
			d.ps.expected(owner.pos, path+"."+key, "an entity ref such as group:default/payments", owner)
			continue
		}
		f.PermissionMapping = append(f.PermissionMapping, r)
	}
}
