package present

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/tools"
)

func groupsResult() *tools.ResultJSON {
	return &tools.ResultJSON{Kind: tools.OutputGroups, GroupBy: "tag", Groups: []tools.GroupJSON{
		{Key: "hypertension", Count: 837}, {Key: "vip", Count: 220}, {Key: "", Count: 3},
	}}
}

func TestGroupsDrawBarsOnATerminalOnly(t *testing.T) {
	ios, _, out, _ := cmdutil.Test()
	ios.SetStdoutTTY(true)
	ios.SetTerminalWidth(60)
	if err := Result(ios, groupsResult(), false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TAG") {
		t.Fatalf("terminal output:\n%s", out)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 60 {
			t.Errorf("line of %d columns on a 60-column terminal: %q", n, l)
		}
	}
	if !strings.HasSuffix(lines[1], "█") || strings.Count(lines[1], "█") <= strings.Count(lines[2], "█") {
		t.Errorf("the largest group has not the longest bar:\n%s", out)
	}
	if !strings.Contains(lines[3], "(none)") || !strings.ContainsAny(lines[3], "▏▎▍▌▋▊▉█") {
		t.Errorf("a small group has no sliver: %q", lines[3])
	}

	ios, _, out, _ = cmdutil.Test()
	if err := Result(ios, groupsResult(), false); err != nil {
		t.Fatal(err)
	}
	if want := "hypertension\t837\nvip\t220\n(none)\t3\n"; out.String() != want {
		t.Errorf("piped output %q, want %q", out.String(), want)
	}
}
