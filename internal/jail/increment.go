package jail

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Increment is Fail2ban's bantime.increment: longer bans for repeat
// offenders. For a prefix banned n times before (n > 0) the ban time is
//
//	bantime · factor · multipliers[min(n, len-1)]   when Multipliers is set,
//	max(bantime, formula)                             otherwise,
//
// then capped at MaxTime and extended by a random part of RndTime. A first
// ban (n = 0) and a permanent bantime are left as they are, as in Fail2ban.
type Increment struct {
	// Factor is bantime.factor (banFactor in the formula); 0 means 1.
	Factor float64
	// Formula is bantime.formula, in the Python subset compileFormula
	// documents; empty means DefaultFormula.
	Formula string
	// Multipliers is bantime.multipliers; past its end the last value
	// repeats. When set, Formula is not used.
	Multipliers []float64
	// MaxTime is bantime.maxtime, the longest ban; 0 means no cap.
	MaxTime time.Duration
	// RndTime is bantime.rndtime: up to this much is added at random so
	// that a botnet cannot predict when its addresses are let back in.
	RndTime time.Duration
	// OverallJails is bantime.overalljails: count earlier bans in every
	// jail, not only this one.
	OverallJails bool
}

// increment is a checked, compiled Increment.
type increment struct {
	factor       float64
	formula      formula
	multipliers  []float64
	maxTime      time.Duration
	rndTime      time.Duration
	overallJails bool
}

func (c *Increment) compile() (*increment, error) {
	inc := &increment{
		factor:       c.Factor,
		multipliers:  append([]float64(nil), c.Multipliers...),
		maxTime:      c.MaxTime,
		rndTime:      c.RndTime,
		overallJails: c.OverallJails,
	}
	switch {
	case c.Factor < 0 || math.IsNaN(c.Factor) || math.IsInf(c.Factor, 0):
		return nil, fmt.Errorf("bantime.factor %v: must be positive", c.Factor)
	case c.MaxTime < 0:
		return nil, fmt.Errorf("bantime.maxtime %v: must not be negative", c.MaxTime)
	case c.RndTime < 0:
		return nil, fmt.Errorf("bantime.rndtime %v: must not be negative", c.RndTime)
	}
	if inc.factor == 0 {
		inc.factor = 1
	}
	for _, m := range c.Multipliers {
		if !(m > 0) || math.IsInf(m, 0) {
			return nil, fmt.Errorf("bantime.multipliers: %v is not a positive number", m)
		}
	}
	if len(inc.multipliers) == 0 {
		src := c.Formula
		if strings.TrimSpace(src) == "" {
			src = DefaultFormula
		}
		f, err := compileFormula(src)
		if err != nil {
			return nil, fmt.Errorf("bantime.%w", err)
		}
		inc.formula = f
	}
	return inc, nil
}

// duration computes the ban time for a prefix banned count times before;
// rnd returns a number in [0, 1).
func (inc *increment) duration(base time.Duration, count int, rnd func() float64) time.Duration {
	if base <= 0 || count <= 0 {
		return base
	}
	secs := base.Seconds()
	var v float64
	if len(inc.multipliers) > 0 {
		v = secs * inc.factor * inc.multipliers[min(count, len(inc.multipliers)-1)]
	} else {
		v = inc.formula(&formulaEnv{time: secs, count: float64(count), factor: inc.factor})
		if !(v >= secs) { // also when NaN
			v = secs
		}
	}
	if inc.maxTime > 0 {
		v = min(v, inc.maxTime.Seconds())
	}
	if inc.rndTime > 0 {
		v += rnd() * inc.rndTime.Seconds()
	}
	const longest = float64(math.MaxInt64/time.Second) - 1
	if v > longest {
		v = longest
	}
	whole := math.Floor(v)
	return time.Duration(whole)*time.Second + time.Duration((v-whole)*float64(time.Second))
}
