//go:build !unix

package store

// CheckBoundary checks nothing where the OS keeps no Unix modes; the
// folder's access control list is the administrator's to set.
func CheckBoundary(path string) error { return nil }

// CheckFileBoundary checks nothing where the OS keeps no Unix modes.
func CheckFileBoundary(path string) error { return nil }

// CheckConfigFile checks nothing where the OS keeps no Unix modes.
func CheckConfigFile(path string) error { return nil }
