package session

import (
	"context"
	"fmt"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/cmd/cmdutil"
)

// TaskGreeting is the line that greets staff with their open tasks due
// today (and overdue), or "" when they have none or the count cannot be
// had: a greeting must never stop a session from starting.
func TaskGreeting(ctx context.Context, b backend.Reader) string {
	tc, err := b.MyTasks(ctx)
	if err != nil || tc == nil {
		return ""
	}
	return TaskGreetingLine(tc)
}

// TaskGreetingLine words the counts.
func TaskGreetingLine(tc *backend.TaskCounts) string {
	switch {
	case tc.DueToday == 0 && tc.Overdue == 0:
		return ""
	case tc.Overdue == 0:
		return fmt.Sprintf("You have %s due today (task list --due today --mine).", cmdutil.Plural(tc.DueToday, "task", "tasks"))
	}
	return fmt.Sprintf("You have %s due today and %d overdue (task list --mine).", cmdutil.Plural(tc.DueToday, "task", "tasks"), tc.Overdue)
}
