//go:build !linux

package doctorcmd

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// volumeEncryption asks the OS's own tool: FileVault's fdesetup on macOS,
// BitLocker's manage-bde on Windows. These run locally; nothing is sent.
func volumeEncryption(path string) (state, detail string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch runtime.GOOS {
	case "darwin":
		out, err := exec.CommandContext(ctx, "fdesetup", "status").CombinedOutput()
		if err != nil {
			return encUnknown, "fdesetup status failed"
		}
		if strings.Contains(string(out), "FileVault is On") {
			return encYes, "FileVault"
		}
		return encNo, strings.TrimSpace(string(out))
	case "windows":
		abs, _ := filepath.Abs(path)
		out, err := exec.CommandContext(ctx, "manage-bde", "-status", filepath.VolumeName(abs)).CombinedOutput()
		if err != nil {
			return encUnknown, "manage-bde -status failed (it needs an administrator)"
		}
		if strings.Contains(string(out), "Protection On") {
			return encYes, "BitLocker"
		}
		return encNo, "BitLocker protection is off"
	}
	return encUnknown, "no check for " + runtime.GOOS
}

const encryptionFix = "turn on full-disk encryption: FileVault (macOS) or BitLocker (Windows)"
