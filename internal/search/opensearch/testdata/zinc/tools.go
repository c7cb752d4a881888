//go:build tools

// Package zincbuild records the ZincSearch command the tests build.
package zincbuild

import _ "github.com/zincsearch/zincsearch/cmd/zincsearch"
