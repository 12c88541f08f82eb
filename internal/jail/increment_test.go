package jail

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestFormula(t *testing.T) {
	tests := []struct {
		src                 string
		time, count, factor float64
		want                float64
	}{
		{DefaultFormula, 600, 0, 1, 600},
		{DefaultFormula, 600, 1, 1, 1200},
		{DefaultFormula, 600, 3, 2, 9600},
		{DefaultFormula, 1, 25, 1, 1 << 20},
		{"ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)", 600, 1, 1, 600 * math.E},
		{"ban.Time * min(ban.Count, 3) ** 2", 10, 5, 1, 90},
		{"max(ban.Time, 3600) if ban.Count > 2 and not ban.Count == 4 else ban.Time", 60, 3, 1, 3600},
		{"max(ban.Time, 3600) if ban.Count > 2 and not ban.Count == 4 else ban.Time", 60, 4, 1, 60},
		{"7 // 2 + 7 % 4 - -1", 0, 0, 0, 7},
		{"(1 << 3) >> 1", 0, 0, 0, 4},
		{"0 or 5", 0, 0, 0, 5},
		{"2 ** 3 ** 2", 0, 0, 0, 512},
		{"-2 ** 2", 0, 0, 0, -4},
		{"abs(-3) + int(2.7) + round(2.5) + math.sqrt(16) + math.pow(2, 3) + math.log(1)", 0, 0, 0, 3 + 2 + 2 + 4 + 8},
		{"1 != 2", 0, 0, 0, 1},
		{"ban.Count >= 2", 0, 2, 0, 1},
		{".5 * 4", 0, 0, 0, 2},
	}
	for _, tt := range tests {
		f, err := compileFormula(tt.src)
		if err != nil {
			t.Errorf("compileFormula(%q): %v", tt.src, err)
			continue
		}
		got := f(&formulaEnv{time: tt.time, count: tt.count, factor: tt.factor})
		if math.Abs(got-tt.want) > 1e-9*math.Abs(tt.want) {
			t.Errorf("formula %q (time %v, count %v, factor %v) = %v, want %v", tt.src, tt.time, tt.count, tt.factor, got, tt.want)
		}
	}
}

func TestFormulaErrors(t *testing.T) {
	tests := []struct {
		src, wantErr string
	}{
		{"__import__('os').system('true')", `unexpected character '\''`},
		{"os.system(1)", `unsupported name "os.system"`},
		{"ban.Time +", "unexpected end"},
		{"(ban.Time", "missing )"},
		{"1 if 2", "without else"},
		{"min(1)", "takes 2 argument(s), got 1"},
		{"min 1", "without ("},
		{"1 2", `unexpected "2"`},
		{"1.2.3", "bad number"},
		{"min(1 2)", "expected , or )"},
		{strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200), "nested too deeply"},
		{strings.Repeat("-", 200) + "1", "nested too deeply"},
		{"ban.time", `unsupported name "ban.time"`},
	}
	for _, tt := range tests {
		_, err := compileFormula(tt.src)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("compileFormula(%q) error = %v, want containing %q", tt.src, err, tt.wantErr)
		}
	}
}

func FuzzFormula(f *testing.F) {
	for _, s := range []string{DefaultFormula, "ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)", "1 if 2 else 3", "min(1, 2)", "not 1 or 2 and 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		fn, err := compileFormula(src)
		if err != nil {
			return
		}
		fn(&formulaEnv{time: 600, count: 3, factor: 1})
		inc := &increment{factor: 1, formula: fn, maxTime: time.Hour}
		if d := inc.duration(10*time.Minute, 3, func() float64 { return 0.5 }); d < 10*time.Minute || d > time.Hour {
			t.Fatalf("duration with formula %q = %v, want within [10m, 1h]", src, d)
		}
	})
}

func TestIncrementDuration(t *testing.T) {
	half := func() float64 { return 0.5 }
	tests := []struct {
		name  string
		inc   Increment
		base  time.Duration
		count int
		want  time.Duration
	}{
		{"first ban unchanged", Increment{}, 10 * time.Minute, 0, 10 * time.Minute},
		{"default formula second ban", Increment{}, 10 * time.Minute, 1, 20 * time.Minute},
		{"default formula fifth ban", Increment{}, 10 * time.Minute, 4, 160 * time.Minute},
		{"default formula capped exponent", Increment{}, time.Second, 40, (1 << 20) * time.Second},
		{"factor", Increment{Factor: 3}, 10 * time.Minute, 1, 60 * time.Minute},
		{"formula never shortens", Increment{Formula: "ban.Time / 10"}, 10 * time.Minute, 2, 10 * time.Minute},
		{"multipliers", Increment{Multipliers: []float64{1, 5, 30}}, time.Minute, 1, 5 * time.Minute},
		{"multipliers last repeats", Increment{Multipliers: []float64{1, 5, 30}}, time.Minute, 9, 30 * time.Minute},
		{"multipliers with factor", Increment{Multipliers: []float64{1, 5, 30}, Factor: 2}, time.Minute, 2, 60 * time.Minute},
		{"multipliers may shorten", Increment{Multipliers: []float64{1, 0.5}}, time.Minute, 1, 30 * time.Second},
		{"maxtime", Increment{MaxTime: time.Hour}, 10 * time.Minute, 10, time.Hour},
		{"rndtime", Increment{RndTime: 10 * time.Minute}, 10 * time.Minute, 1, 25 * time.Minute},
		{"rndtime after maxtime", Increment{MaxTime: time.Hour, RndTime: 2 * time.Minute}, 10 * time.Minute, 10, time.Hour + time.Minute},
		{"no rndtime on first ban", Increment{RndTime: 2 * time.Minute}, 10 * time.Minute, 0, 10 * time.Minute},
		{"permanent stays", Increment{}, Permanent, 3, Permanent},
		{"huge formula clamps", Increment{Formula: "10 ** 400"}, time.Minute, 1, time.Duration(math.MaxInt64/int64(time.Second)-1) * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc, err := tt.inc.compile()
			if err != nil {
				t.Fatal(err)
			}
			if got := inc.duration(tt.base, tt.count, half); got != tt.want {
				t.Errorf("duration(%v, %d) = %v, want %v", tt.base, tt.count, got, tt.want)
			}
		})
	}
}

func TestIncrementErrors(t *testing.T) {
	tests := []struct {
		inc     Increment
		wantErr string
	}{
		{Increment{Factor: -1}, "bantime.factor"},
		{Increment{MaxTime: -time.Second}, "bantime.maxtime"},
		{Increment{RndTime: -time.Second}, "bantime.rndtime"},
		{Increment{Multipliers: []float64{1, 0}}, "bantime.multipliers: 0"},
		{Increment{Formula: "eval('1')"}, `bantime.formula "eval('1')"`},
	}
	for _, tt := range tests {
		_, err := tt.inc.compile()
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("compile(%+v) error = %v, want containing %q", tt.inc, err, tt.wantErr)
		}
	}
}
