package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// durationExpected describes every accepted duration form.
const durationExpected = "a duration such as '30s', '2 minutes', 'PT1M' or {seconds: 30}"

// durationUnits are the keys of Backstage's HumanDuration object, with the
// lengths Backstage's durationToMilliseconds gives them (365-day years,
// 30-day months).
func durationUnits() []struct {
	name string
	d    time.Duration
} {
	day := 24 * time.Hour
	return []struct {
		name string
		d    time.Duration
	}{
		{"years", 365 * day}, {"months", 30 * day}, {"weeks", 7 * day}, {"days", day},
		{"hours", time.Hour}, {"minutes", time.Minute}, {"seconds", time.Second}, {"milliseconds", time.Millisecond},
	}
}

// parseDuration reads a duration in the forms Backstage's
// readDurationFromConfig accepts: a string for the ms library ("30s",
// "2 minutes", "1d"), an ISO 8601 string ("PT30S"), or an object of units
// ({minutes: 1, seconds: 30}). Greenroom also accepts Go's compound form
// ("1m30s"). Plain numbers are refused, as in Backstage, because the unit
// would be a guess.
func parseDuration(n *node) (time.Duration, error) {
	switch n.kind {
	case kindString:
		s := strings.TrimSpace(n.s)
		if strings.HasPrefix(s, "P") || strings.HasPrefix(s, "-P") {
			return parseISODuration(s)
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return 0, errors.New("a plain number is not a duration; add a unit such as 'ms' or 'seconds'")
		}
		if d, ok := parseMsDuration(s); ok {
			return checkDuration(d)
		}
		if d, err := time.ParseDuration(s); err == nil {
			return checkDuration(d)
		}
		return 0, fmt.Errorf("%q is not a valid duration; try a number followed by a unit such as '1d' or '2 seconds'", s)
	case kindMap:
		var total float64
		known := map[string]time.Duration{}
		for _, u := range durationUnits() {
			known[u.name] = u.d
		}
		if len(n.keys) == 0 {
			return 0, errors.New("needs one or more of 'years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds', 'milliseconds'")
		}
		for _, k := range n.keys {
			unit, ok := known[k]
			if !ok {
				return 0, fmt.Errorf("unknown property '%s'; expected one or more of 'years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds', 'milliseconds'", k)
			}
			v := n.vals[k]
			f, ok := number(v)
			if !ok {
				return 0, fmt.Errorf("%s: expected a number, got %s", k, v.describe())
			}
			total += f * float64(unit)
		}
		if total > math.MaxInt64 || total < math.MinInt64 {
			return 0, errors.New("duration is too long")
		}
		return checkDuration(time.Duration(total))
	}
	return 0, fmt.Errorf("expected %s, got %s", durationExpected, n.describe())
}

func checkDuration(d time.Duration) (time.Duration, error) {
	if d < 0 {
		return 0, errors.New("negative durations are not allowed")
	}
	return d, nil
}

// number returns the value of a numeric node or numeric string (strings
// arrive from ${VAR} substitution).
func number(n *node) (float64, bool) {
	switch n.kind {
	case kindInt:
		return float64(n.i), true
	case kindFloat:
		return n.f, !math.IsNaN(n.f) && !math.IsInf(n.f, 0)
	case kindString:
		f, err := strconv.ParseFloat(strings.TrimSpace(n.s), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// parseMsDuration parses the format of the ms library: a number, optional
// spaces and a unit word, case-insensitive.
func parseMsDuration(s string) (time.Duration, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, false
	}
	unit := strings.ToLower(strings.TrimLeft(s[i:], " "))
	day := 24 * float64(time.Hour)
	var mult float64
	switch unit {
	case "years", "year", "yrs", "yr", "y":
		mult = 365.25 * day
	case "weeks", "week", "w":
		mult = 7 * day
	case "days", "day", "d":
		mult = day
	case "hours", "hour", "hrs", "hr", "h":
		mult = float64(time.Hour)
	case "minutes", "minute", "mins", "min", "m":
		mult = float64(time.Minute)
	case "seconds", "second", "secs", "sec", "s":
		mult = float64(time.Second)
	case "milliseconds", "millisecond", "msecs", "msec", "ms":
		mult = float64(time.Millisecond)
	default:
		return 0, false
	}
	total := num * mult
	if total > math.MaxInt64 || total < math.MinInt64 {
		return 0, false
	}
	return time.Duration(total), true
}

// parseISODuration parses ISO 8601 durations as Backstage's
// parseIsoDuration does (with 365-day years and 30-day months).
func parseISODuration(s string) (time.Duration, error) {
	re := regexp.MustCompile(`^(-)?P(?:(\d{1,20}(?:\.\d{1,20})?)Y)?(?:(\d{1,20}(?:\.\d{1,20})?)M)?(?:(\d{1,20}(?:\.\d{1,20})?)W)?(?:(\d{1,20}(?:\.\d{1,20})?)D)?(?:T(?:(\d{1,20}(?:\.\d{1,20})?)H)?(?:(\d{1,20}(?:\.\d{1,20})?)M)?(?:(\d{1,20}(?:[.,]\d{1,20})?)S)?)?$`)
	m := re.FindStringSubmatch(s)
	if m == nil || strings.HasSuffix(s, "T") {
		return 0, errors.New("invalid ISO format, expected a value similar to 'P2DT6H' (2 days 6 hours) or 'PT1M' (1 minute)")
	}
	day := 24 * float64(time.Hour)
	mults := []float64{365 * day, 30 * day, 7 * day, day, float64(time.Hour), float64(time.Minute), float64(time.Second)}
	var total float64
	found := false
	for i, mult := range mults {
		v := strings.Replace(m[i+2], ",", ".", 1)
		if v == "" {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, err
		}
		found = true
		total += f * mult
	}
	if !found {
		return 0, errors.New("invalid ISO format, no values given")
	}
	if m[1] == "-" {
		total = -total
	}
	if total > math.MaxInt64 || total < math.MinInt64 {
		return 0, errors.New("duration is too long")
	}
	return checkDuration(time.Duration(total))
}

// Duration is a time.Duration that decodes from every form Backstage
// accepts for durations ('30s', '2 minutes', 'PT1M', {seconds: 30}). Use it
// in structs filled by Config.Decode.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	n, err := jsonNode(dec, pos{}, 0)
	if err != nil {
		return err
	}
	v, err := parseDuration(n)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration in Go's notation, e.g. "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}
