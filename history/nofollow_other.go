//go:build !unix

package history

// noFollow is not available here.
const noFollow = 0
