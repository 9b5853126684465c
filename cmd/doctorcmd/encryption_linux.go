//go:build linux

package doctorcmd

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// volumeEncryption reports whether path sits on an encrypted volume: a
// dm-crypt (LUKS) device, directly or under LVM or RAID, found through
// /sys/dev/block; or an encrypting file system (eCryptfs) in /proc/mounts.
func volumeEncryption(path string) (state, detail string) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return encUnknown, err.Error()
	}
	if fs := mountType(path); fs == "ecryptfs" {
		return encYes, "eCryptfs"
	}
	major, minor := unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev))
	if major == 0 {
		// Anonymous devices: overlayfs (containers), tmpfs, btrfs
		// subvolumes. The block device behind them is not visible.
		return encUnknown, fmt.Sprintf("the file system (%s) does not name a block device", orUnknown(mountType(path)))
	}
	dev := fmt.Sprintf("/sys/dev/block/%d:%d", major, minor)
	if _, err := os.Stat(dev); err != nil {
		return encUnknown, "no block device information in /sys"
	}
	if name, ok := cryptAncestor(dev, 0); ok {
		return encYes, "dm-crypt/LUKS (" + name + ")"
	}
	return encNo, "the volume (" + filepath.Base(resolve(dev)) + ") is not dm-crypt/LUKS"
}

// cryptAncestor walks from a block device to the devices beneath it (the
// partition's disk, an LVM volume's physical volumes) looking for dm-crypt.
func cryptAncestor(dev string, depth int) (string, bool) {
	if depth > 8 {
		return "", false
	}
	real := resolve(dev)
	if uuid, err := os.ReadFile(filepath.Join(real, "dm", "uuid")); err == nil && strings.HasPrefix(string(uuid), "CRYPT-") {
		name, _ := os.ReadFile(filepath.Join(real, "dm", "name"))
		return strings.TrimSpace(string(name)), true
	}
	slaves, _ := os.ReadDir(filepath.Join(real, "slaves"))
	for _, s := range slaves {
		if name, ok := cryptAncestor(filepath.Join(real, "slaves", s.Name()), depth+1); ok {
			return name, true
		}
	}
	// A partition's holders are elsewhere; its parent disk is "..".
	if _, err := os.Stat(filepath.Join(real, "partition")); err == nil {
		return cryptAncestor(filepath.Dir(real), depth+1)
	}
	return "", false
}

func resolve(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// mountType is the file system type of the longest mount point holding path.
func mountType(path string) string {
	abs, _ := filepath.Abs(path)
	f, err := os.Open("/proc/mounts")
	if err != nil {
		return ""
	}
	defer f.Close()
	best, fstype := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		mp := fields[1]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best, fstype = mp, fields[2]
		}
	}
	return fstype
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

const encryptionFix = "put the database on a LUKS-encrypted volume (for example a partition or disk set up with cryptsetup luksFormat), or enable full-disk encryption when installing the OS"
