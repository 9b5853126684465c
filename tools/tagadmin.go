package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/carebook/carebook/store"
)

// Tools that change a tag for every patient carrying it. They are for the
// plain commands (tag rename, tag delete) and batches: the model is never
// offered them (they are not in ModelTools, so not in its schema), since a
// request in plain language has no business renaming the vocabulary.
const (
	ToolRenameTag = "rename_tag"
	ToolDeleteTag = "delete_tag"
)

// RenameTagArgs are the arguments of rename_tag: the tag, and its new name
// (an existing tag's name merges the two).
type RenameTagArgs struct {
	Tag string `json:"tag"`
	To  string `json:"to"`
}

// DeleteTagArgs are the arguments of delete_tag.
type DeleteTagArgs struct {
	Tag string `json:"tag"`
}

// tagName reads a tag as typed: lowercase-kebab after trimming and
// lowering, or a sentence saying what a tag looks like.
func tagName(field, typed string) (string, error) {
	tag := strings.ToLower(strings.TrimSpace(typed))
	if !store.ValidTagName(tag) {
		return "", invalidf("%s %q is not lowercase-kebab (like refill-overdue)", field, typed)
	}
	return tag, nil
}

// carriers is the selection of every patient carrying tag, re-checked when
// the write runs: a patient tagged in between stops the write rather than
// be changed unseen.
func carriers(ctx context.Context, r store.Reader, tool, tag string) (selection, error) {
	exists, err := r.TagExists(ctx, tag)
	if err != nil {
		return selection{}, err
	}
	if !exists {
		msg := fmt.Sprintf("there is no tag %q", tag)
		if near, err := similarTag(ctx, r, tag); err != nil {
			return selection{}, err
		} else if near != "" {
			msg += fmt.Sprintf("; did you mean %s?", near)
		} else {
			msg += "; carebook tag list shows the tags"
		}
		return selection{}, &ValidationError{Msg: msg}
	}
	f := store.PatientFilter{TagsAll: []string{tag}}
	ids, err := r.PatientIDs(ctx, f)
	if err != nil {
		return selection{}, fmt.Errorf("%s: %w", tool, err)
	}
	return selection{filter: f, ids: ids}, nil
}

func prepareRenameTag(ctx context.Context, r store.Reader, a Action) (*Plan, error) {
	var args RenameTagArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	from, err := tagName("tag", args.Tag)
	if err != nil {
		return nil, err
	}
	to, err := tagName("the new name", args.To)
	if err != nil {
		return nil, err
	}
	if from == to {
		return nil, invalidf("%s is already called %s; give a different new name", from, to)
	}
	sel, err := carriers(ctx, r, a.Tool, from)
	if err != nil {
		return nil, err
	}
	merge, err := r.TagExists(ctx, to)
	if err != nil {
		return nil, err
	}
	p := &Plan{Action: a, Tool: a.Tool, Write: true}
	if err := previewTargets(ctx, r, p, sel); err != nil {
		return nil, err
	}
	who := plural(len(sel.ids), "patient", "patients")
	p.Summary = fmt.Sprintf("Rename tag %s to %s on %s", from, to, who)
	if merge {
		p.Summary += fmt.Sprintf(" (%s exists already: the two are merged)", to)
	}
	if len(sel.ids) == 0 {
		p.NoOp, p.Summary = true, fmt.Sprintf("No patient carries %s; nothing to do", from)
	}
	p.write = func(ctx context.Context, tx *store.Tx) (*Result, error) {
		if _, err := sel.reselect(ctx, tx); err != nil {
			return nil, err
		}
		ids, err := tx.RenameTag(ctx, from, to)
		if err != nil {
			return nil, err
		}
		res := &Result{Tool: a.Tool, Kind: "write", Changed: ids, Count: len(ids)}
		res.Message = fmt.Sprintf("Renamed tag %s to %s on %s.", from, to, plural(res.Count, "patient", "patients"))
		return res, nil
	}
	return p, nil
}

func prepareDeleteTag(ctx context.Context, r store.Reader, a Action) (*Plan, error) {
	var args DeleteTagArgs
	if err := decodeArgs(a, &args); err != nil {
		return nil, err
	}
	tag, err := tagName("tag", args.Tag)
	if err != nil {
		return nil, err
	}
	sel, err := carriers(ctx, r, a.Tool, tag)
	if err != nil {
		return nil, err
	}
	p := &Plan{Action: a, Tool: a.Tool, Write: true}
	if err := previewTargets(ctx, r, p, sel); err != nil {
		return nil, err
	}
	p.Summary = fmt.Sprintf("Delete tag %s: remove it from %s", tag, plural(len(sel.ids), "patient", "patients"))
	if len(sel.ids) == 0 {
		p.NoOp, p.Summary = true, fmt.Sprintf("No patient carries %s; nothing to do", tag)
	}
	p.write = func(ctx context.Context, tx *store.Tx) (*Result, error) {
		if _, err := sel.reselect(ctx, tx); err != nil {
			return nil, err
		}
		ids, err := tx.DeleteTag(ctx, tag)
		if err != nil {
			return nil, err
		}
		res := &Result{Tool: a.Tool, Kind: "write", Changed: ids, Count: len(ids)}
		res.Message = fmt.Sprintf("Deleted tag %s from %s.", tag, plural(res.Count, "patient", "patients"))
		return res, nil
	}
	return p, nil
}

// similarTag is the tag in use nearest to tag, within a small edit
// distance ("recall-deu" for recall-due), or "".
func similarTag(ctx context.Context, r store.Reader, tag string) (string, error) {
	tags, err := r.ListTags(ctx)
	if err != nil {
		return "", err
	}
	var inUse []string
	for _, t := range tags {
		if t.Patients > 0 && t.Name != tag {
			inUse = append(inUse, t.Name)
		}
	}
	if near := nearNames(tag, inUse); len(near) > 0 {
		return near[0], nil
	}
	return "", nil
}

// noOpSentence says why a tag or untag would change nothing, or "" when it
// would change something. already is how many of the n patients selected
// carry the tag.
func noOpSentence(tool, tag string, targets []store.Patient, n, already int) string {
	one := ""
	if n == 1 && len(targets) == 1 {
		one = targets[0].MRN
	}
	switch {
	case n == 0:
		return "No patient matches; nothing to do"
	case tool == ToolTag && already == n && one != "":
		return fmt.Sprintf("%s already has %s; nothing to do", one, tag)
	case tool == ToolTag && already == n:
		return fmt.Sprintf("All %d patients already have %s; nothing to do", n, tag)
	case tool == ToolUntag && already == 0 && one != "":
		return fmt.Sprintf("%s does not have %s; nothing to do", one, tag)
	case tool == ToolUntag && already == 0:
		return fmt.Sprintf("None of the %d patients has %s; nothing to do", n, tag)
	}
	return ""
}
