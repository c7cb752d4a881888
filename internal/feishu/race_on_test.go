//go:build race

package feishu

// raceEnabled: the race detector slows code several times, so timing
// targets are not checked under it.
const raceEnabled = true
