package jail

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DefaultFormula is Fail2ban's default bantime.formula: the ban time doubles
// with every earlier ban, up to 2^20 times the base.
const DefaultFormula = "ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor"

// formulaEnv holds the values a formula can read: ban.Time in seconds,
// ban.Count (earlier bans) and banFactor.
type formulaEnv struct {
	time, count, factor float64
}

// formula is a compiled bantime.formula.
type formula func(env *formulaEnv) float64

// compileFormula compiles the subset of Python expressions that Fail2ban's
// shipped and documented formulas use. It is deliberately small and never
// evaluates arbitrary code:
//
//   - numbers (integer or decimal), the names ban.Time (seconds), ban.Count
//     and banFactor;
//   - operators + - * / // % ** << >>, unary - and +, parentheses;
//   - comparisons < <= > >= == != (true is 1, false 0), and, or, not;
//   - Python's conditional "A if COND else B";
//   - the functions min, max, abs, float, int, round, math.exp, math.log,
//     math.sqrt and math.pow.
//
// Everything is computed in float64; x<<n is x·2^n. Anything else (another
// name, attribute, call or statement) is refused with an error naming it.
func compileFormula(src string) (formula, error) {
	toks, err := lexFormula(src)
	if err != nil {
		return nil, fmt.Errorf("formula %q: %w", src, err)
	}
	p := &formulaParser{toks: toks}
	f, err := p.ternary()
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	if err != nil {
		return nil, fmt.Errorf("formula %q: %w", src, err)
	}
	return f, nil
}

// lexFormula splits a formula into tokens: numbers, dotted names and operators.
func lexFormula(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			op := ""
			for _, o := range []string{"**", "//", "<<", ">>", "<=", ">=", "==", "!=", "+", "-", "*", "/", "%", "<", ">", "(", ")", ","} {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("unexpected character %q", c)
			}
			toks = append(toks, op)
			i += len(op)
		}
	}
	return toks, nil
}

// formulaParser is a recursive-descent parser over lexFormula's tokens,
// following Python's operator precedence.
type formulaParser struct {
	toks  []string
	pos   int
	depth int
}

// maxFormulaDepth bounds nesting so a hostile formula cannot exhaust the stack.
const maxFormulaDepth = 100

func (p *formulaParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *formulaParser) accept(tok string) bool {
	if p.peek() == tok {
		p.pos++
		return true
	}
	return false
}

// enter counts one level of recursion and refuses to go past maxFormulaDepth;
// the caller defers p.leave().
func (p *formulaParser) enter() error {
	p.depth++
	if p.depth > maxFormulaDepth {
		return fmt.Errorf("nested too deeply")
	}
	return nil
}

func (p *formulaParser) leave() { p.depth-- }

func (p *formulaParser) ternary() (formula, error) {
	defer p.leave()
	if err := p.enter(); err != nil {
		return nil, err
	}
	a, err := p.or()
	if err != nil || !p.accept("if") {
		return a, err
	}
	cond, err := p.or()
	if err != nil {
		return nil, err
	}
	if !p.accept("else") {
		return nil, fmt.Errorf("conditional without else")
	}
	b, err := p.ternary()
	if err != nil {
		return nil, err
	}
	return func(e *formulaEnv) float64 {
		if cond(e) != 0 {
			return a(e)
		}
		return b(e)
	}, nil
}

func (p *formulaParser) or() (formula, error) {
	a, err := p.and()
	for err == nil && p.accept("or") {
		var b formula
		if b, err = p.and(); err == nil {
			x := a
			a = func(e *formulaEnv) float64 {
				if v := x(e); v != 0 {
					return v
				}
				return b(e)
			}
		}
	}
	return a, err
}

func (p *formulaParser) and() (formula, error) {
	a, err := p.not()
	for err == nil && p.accept("and") {
		var b formula
		if b, err = p.not(); err == nil {
			x := a
			a = func(e *formulaEnv) float64 {
				if v := x(e); v == 0 {
					return v
				}
				return b(e)
			}
		}
	}
	return a, err
}

func (p *formulaParser) not() (formula, error) {
	defer p.leave()
	if err := p.enter(); err != nil {
		return nil, err
	}
	if p.accept("not") {
		a, err := p.not()
		if err != nil {
			return nil, err
		}
		return func(e *formulaEnv) float64 { return truth(a(e) == 0) }, nil
	}
	return p.comparison()
}

func truth(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (p *formulaParser) comparison() (formula, error) {
	a, err := p.shift()
	if err != nil {
		return nil, err
	}
	ops := map[string]func(x, y float64) bool{
		"<": func(x, y float64) bool { return x < y }, "<=": func(x, y float64) bool { return x <= y },
		">": func(x, y float64) bool { return x > y }, ">=": func(x, y float64) bool { return x >= y },
		"==": func(x, y float64) bool { return x == y }, "!=": func(x, y float64) bool { return x != y },
	}
	op, ok := ops[p.peek()]
	if !ok {
		return a, nil
	}
	p.pos++
	b, err := p.shift()
	if err != nil {
		return nil, err
	}
	return func(e *formulaEnv) float64 { return truth(op(a(e), b(e))) }, nil
}

// binary parses a left-associative chain of the given operators over next.
func (p *formulaParser) binary(next func() (formula, error), ops map[string]func(x, y float64) float64) (formula, error) {
	a, err := next()
	for err == nil {
		op, ok := ops[p.peek()]
		if !ok {
			break
		}
		p.pos++
		var b formula
		if b, err = next(); err == nil {
			x := a
			a = func(e *formulaEnv) float64 { return op(x(e), b(e)) }
		}
	}
	return a, err
}

func (p *formulaParser) shift() (formula, error) {
	return p.binary(p.sum, map[string]func(x, y float64) float64{
		"<<": func(x, y float64) float64 { return math.Ldexp(math.Trunc(x), clampExp(y)) },
		">>": func(x, y float64) float64 { return math.Floor(math.Ldexp(math.Trunc(x), -clampExp(y))) },
	})
}

// clampExp turns a shift count into a bounded exponent for math.Ldexp.
func clampExp(y float64) int {
	switch {
	case y < 0 || math.IsNaN(y):
		return 0
	case y > 1100:
		return 1100
	}
	return int(y)
}

func (p *formulaParser) sum() (formula, error) {
	return p.binary(p.term, map[string]func(x, y float64) float64{
		"+": func(x, y float64) float64 { return x + y },
		"-": func(x, y float64) float64 { return x - y },
	})
}

func (p *formulaParser) term() (formula, error) {
	return p.binary(p.unary, map[string]func(x, y float64) float64{
		"*":  func(x, y float64) float64 { return x * y },
		"/":  func(x, y float64) float64 { return x / y },
		"//": func(x, y float64) float64 { return math.Floor(x / y) },
		"%":  func(x, y float64) float64 { return x - y*math.Floor(x/y) },
	})
}

func (p *formulaParser) unary() (formula, error) {
	defer p.leave()
	if err := p.enter(); err != nil {
		return nil, err
	}
	switch {
	case p.accept("-"):
		a, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(e *formulaEnv) float64 { return -a(e) }, nil
	case p.accept("+"):
		return p.unary()
	}
	return p.power()
}

func (p *formulaParser) power() (formula, error) {
	a, err := p.primary()
	if err != nil || !p.accept("**") {
		return a, err
	}
	b, err := p.unary()
	if err != nil {
		return nil, err
	}
	return func(e *formulaEnv) float64 { return math.Pow(a(e), b(e)) }, nil
}

// formulaFunc returns a callable name's argument count and implementation.
func formulaFunc(name string) (int, func(a []float64) float64, bool) {
	switch name {
	case "min":
		return 2, func(a []float64) float64 { return math.Min(a[0], a[1]) }, true
	case "max":
		return 2, func(a []float64) float64 { return math.Max(a[0], a[1]) }, true
	case "abs":
		return 1, func(a []float64) float64 { return math.Abs(a[0]) }, true
	case "float":
		return 1, func(a []float64) float64 { return a[0] }, true
	case "int":
		return 1, func(a []float64) float64 { return math.Trunc(a[0]) }, true
	case "round":
		return 1, func(a []float64) float64 { return math.RoundToEven(a[0]) }, true
	case "math.exp":
		return 1, func(a []float64) float64 { return math.Exp(a[0]) }, true
	case "math.log":
		return 1, func(a []float64) float64 { return math.Log(a[0]) }, true
	case "math.sqrt":
		return 1, func(a []float64) float64 { return math.Sqrt(a[0]) }, true
	case "math.pow":
		return 2, func(a []float64) float64 { return math.Pow(a[0], a[1]) }, true
	}
	return 0, nil, false
}

func (p *formulaParser) primary() (formula, error) {
	tok := p.peek()
	if tok == "" {
		return nil, fmt.Errorf("unexpected end")
	}
	p.pos++
	switch {
	case tok == "(":
		a, err := p.ternary()
		if err != nil {
			return nil, err
		}
		if !p.accept(")") {
			return nil, fmt.Errorf("missing )")
		}
		return a, nil
	case tok[0] >= '0' && tok[0] <= '9' || tok[0] == '.':
		v, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", tok)
		}
		return func(*formulaEnv) float64 { return v }, nil
	case tok == "ban.Time":
		return func(e *formulaEnv) float64 { return e.time }, nil
	case tok == "ban.Count":
		return func(e *formulaEnv) float64 { return e.count }, nil
	case tok == "banFactor":
		return func(e *formulaEnv) float64 { return e.factor }, nil
	}
	nargs, fn, ok := formulaFunc(tok)
	if !ok {
		return nil, fmt.Errorf("unsupported name %q (supported: ban.Time, ban.Count, banFactor, min, max, abs, float, int, round, math.exp, math.log, math.sqrt, math.pow)", tok)
	}
	if !p.accept("(") {
		return nil, fmt.Errorf("%s without (", tok)
	}
	args := make([]formula, 0, nargs)
	for !p.accept(")") {
		if len(args) > 0 && !p.accept(",") {
			return nil, fmt.Errorf("%s: expected , or )", tok)
		}
		a, err := p.ternary()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	if len(args) != nargs {
		return nil, fmt.Errorf("%s takes %d argument(s), got %d", tok, nargs, len(args))
	}
	return func(e *formulaEnv) float64 {
		var buf [2]float64
		v := buf[:len(args)]
		for i, a := range args {
			v[i] = a(e)
		}
		return fn(v)
	}, nil
}
