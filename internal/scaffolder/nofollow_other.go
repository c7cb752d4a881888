//go:build !unix

package scaffolder

const syscallNoFollow = 0
