package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// encoding/json resolves two things silently that an action must not
// leave to it: a key given twice (the last one wins) and a key that matches
// a field only when case is ignored ("Name", "NAME" or "ſtatus" all fill
// "name" or "status"). The audit log keeps the action as written, so either
// would let the row say one thing while the filter did another:
// {"name":"smith","Name":"jones"} read as "smith" and filtered on "jones".
// checkKeys refuses both, at every depth, before the action is used.

// jsonField is one JSON member of a struct.
type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the JSON members of a struct from its tags.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: f.Type})
	}
	return out
}

// argsType is the struct a tool's arguments decode into.
func argsType(tool string) (reflect.Type, bool) {
	switch tool {
	case ToolQuery:
		return reflect.TypeFor[QueryArgs](), true
	case ToolTag, ToolUntag:
		return reflect.TypeFor[TagArgs](), true
	case ToolLogInteraction:
		return reflect.TypeFor[LogArgs](), true
	case ToolClarify, ToolRefuse:
		return reflect.TypeFor[MessageArgs](), true
	case ToolRenameTag:
		return reflect.TypeFor[RenameTagArgs](), true
	case ToolDeleteTag:
		return reflect.TypeFor[DeleteTagArgs](), true
	case ToolUpdatePatient:
		return reflect.TypeFor[UpdatePatientArgs](), true
	case ToolSetConsent:
		return reflect.TypeFor[ConsentArgs](), true
	case ToolAddTask:
		return reflect.TypeFor[AddTaskArgs](), true
	case ToolCompleteTask:
		return reflect.TypeFor[CompleteTaskArgs](), true
	case ToolReopenTask:
		return reflect.TypeFor[ReopenTaskArgs](), true
	case ToolAddPatient:
		return reflect.TypeFor[AddPatientArgs](), true
	case ToolMergePatients:
		return reflect.TypeFor[MergeArgs](), true
	}
	return nil, false
}

// checkKeys refuses a key given twice in one object, and a key that differs
// from a field of t only in case, anywhere in data, which must be valid JSON
// (decodeStrict has read it). path is where data sits in the action: "" for
// the whole action, "args" for its arguments. Where t says nothing
// (json.RawMessage, a string), only duplicates are refused.
func checkKeys(data []byte, t reflect.Type, path string) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	kc := keyChecker{dec: json.NewDecoder(bytes.NewReader(data))}
	if err := kc.value(t, path); err != nil {
		if _, ok := err.(*ValidationError); ok {
			return err
		}
		return invalidf("the action is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

type keyChecker struct{ dec *json.Decoder }

// value checks the next value; t is the Go type it decodes into, or nil.
func (kc keyChecker) value(t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		t = nil
	}
	tok, err := kc.dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return kc.object(t, path)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for kc.dec.More() {
			if err := kc.value(elem, path); err != nil {
				return err
			}
		}
		_, err := kc.dec.Token() // ]
		return err
	}
	return nil
}

func (kc keyChecker) object(t reflect.Type, path string) error {
	var fields []jsonField
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for kc.dec.More() {
		tok, err := kc.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if seen[key] {
			return invalidf("the key %s appears twice in %s; give each key once", quoteKey(key), describePath(path))
		}
		seen[key] = true
		var ft reflect.Type
		for _, f := range fields {
			if f.name == key {
				ft = f.typ
				break
			}
			// strings.EqualFold is the folding encoding/json matches
			// field names with.
			if strings.EqualFold(f.name, key) {
				return invalidf("the key %s in %s differs from the field %q only in case; write it %q", quoteKey(key), describePath(path), f.name, f.name)
			}
		}
		if err := kc.value(ft, joinPath(path, key)); err != nil {
			return err
		}
	}
	_, err := kc.dec.Token() // }
	return err
}

func joinPath(path, key string) string {
	if r := []rune(key); len(r) > 40 {
		key = string(r[:40]) + "…"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func describePath(path string) string {
	if path == "" {
		return "the action"
	}
	return path
}

// quoteKey quotes a key for a message, cut short: a key is whatever the
// action's author wrote.
func quoteKey(k string) string {
	if r := []rune(k); len(r) > 40 {
		k = string(r[:40]) + "…"
	}
	return fmt.Sprintf("%q", k)
}
