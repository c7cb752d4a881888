// Package greenroom holds the vocabulary shared by every other package:
// errors with codes, entity references, principals and clocks.
//
// It depends on the standard library only and must never import another
// Greenroom package.
package greenroom
