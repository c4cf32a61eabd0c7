// Package knobs turns one declaration per configuration key into everything else about it. A key
// is a struct field whose tags carry its TOML name, default, range and meaning:
//
//	BatchSize int `toml:"batch_size" default:"64" min:"1" max:"65536" doc:"Images per step."`
//
// From that one place come the defaults (Fill), the checks (Check: ranges, finite numbers,
// allowed values, with errors naming the key) and the commented TOML file that `sgan config
// init` writes (Encode). Tags:
//
//	toml      the key (fields without one are not configuration)
//	default   the default, as a TOML value (absent: the type's zero value)
//	doc       what the key means; "\n" starts a new comment line
//	min, max  inclusive bounds for numbers (each element of a list of numbers)
//	gt, lt    exclusive lower and upper bounds for numbers
//	enum      allowed string values, "a|b|c" ("|a|b" also allows "")
//	pattern   a regular expression a string must match (whole string)
//	nonempty  "true": a string must not be empty
//	rangedoc  how the range reads in the doc, when the bounds alone would mislead
//
// Nested structs are TOML tables ([section]); their field's doc tag comments the table. A slice
// of structs is an array of inline tables whose elements are checked field by field. Float keys
// never accept NaN or infinity.
package knobs

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// Fill sets every key of the struct ptr points to to its default.
func Fill(ptr any) error {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic("knobs: Fill needs a pointer to a struct")
	}
	return fill(v.Elem(), "")
}

func fill(v reflect.Value, path string) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key, ok := f.Tag.Lookup("toml")
		if !ok || key == "-" {
			continue
		}
		fv := v.Field(i)
		name := join(path, key)
		if f.Type.Kind() == reflect.Struct {
			if err := fill(fv, name); err != nil {
				return err
			}
			continue
		}
		def, ok := f.Tag.Lookup("default")
		if !ok {
			fv.Set(reflect.Zero(f.Type))
			continue
		}
		if err := decodeValue(def, fv); err != nil {
			return fmt.Errorf("knobs: default of %s: %w", name, err)
		}
	}
	return nil
}

// decodeValue parses text as a TOML value into v.
func decodeValue(text string, v reflect.Value) error {
	holder := reflect.New(reflect.StructOf([]reflect.StructField{{
		Name: "V", Type: v.Type(), Tag: `toml:"v"`,
	}}))
	if _, err := toml.Decode("v = "+text, holder.Interface()); err != nil {
		return err
	}
	v.Set(holder.Elem().Field(0))
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Check returns the first key of v (a struct) whose value breaks its declaration, as one line:
// "train.batch_size = 0: must be at least 1". section prefixes the keys (e.g. "model").
func Check(v any, section string) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	return check(rv, section)
}

func check(v reflect.Value, path string) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key, ok := f.Tag.Lookup("toml")
		if !ok || key == "-" {
			continue
		}
		name := join(path, key)
		fv := v.Field(i)
		switch {
		case f.Type.Kind() == reflect.Struct:
			if err := check(fv, name); err != nil {
				return err
			}
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			for j := range fv.Len() {
				if err := check(fv.Index(j), fmt.Sprintf("%s[%d]", name, j)); err != nil {
					return err
				}
			}
		case f.Type.Kind() == reflect.Slice:
			for j := range fv.Len() {
				if err := checkScalar(f.Tag, fv.Index(j), fmt.Sprintf("%s[%d]", name, j)); err != nil {
					return err
				}
			}
		default:
			if err := checkScalar(f.Tag, fv, name); err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	patternMu sync.Mutex
	patterns  = map[string]*regexp.Regexp{}
)

func compiled(p string) *regexp.Regexp {
	patternMu.Lock()
	defer patternMu.Unlock()
	re, ok := patterns[p]
	if !ok {
		re = regexp.MustCompile("^(?:" + p + ")$")
		patterns[p] = re
	}
	return re
}

func checkScalar(tag reflect.StructTag, v reflect.Value, name string) error {
	var x float64
	switch v.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		x = float64(v.Int())
	case reflect.Float64, reflect.Float32:
		x = v.Float()
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s = %v: must be a finite number", name, x)
		}
	case reflect.String:
		s := v.String()
		if tag.Get("nonempty") == "true" && s == "" {
			return fmt.Errorf("%s = \"\": must not be empty", name)
		}
		if e, ok := tag.Lookup("enum"); ok {
			allowed := strings.Split(e, "|")
			found := false
			for _, a := range allowed {
				found = found || a == s
			}
			if !found {
				return fmt.Errorf("%s = %q: must be %s", name, s, orList(allowed))
			}
		}
		if p, ok := tag.Lookup("pattern"); ok && !compiled(p).MatchString(s) {
			return fmt.Errorf("%s = %q: %s", name, s, tag.Get("rangedoc"))
		}
		return nil
	default:
		return nil
	}
	show := strconv.FormatFloat(x, 'g', -1, 64)
	if v.CanInt() {
		show = strconv.FormatInt(v.Int(), 10)
	}
	if m, ok := tag.Lookup("min"); ok {
		if lo, _ := strconv.ParseFloat(m, 64); x < lo {
			return fmt.Errorf("%s = %s: must be at least %s%s", name, show, m, maxPart(tag))
		}
	}
	if g, ok := tag.Lookup("gt"); ok {
		if lo, _ := strconv.ParseFloat(g, 64); !(x > lo) {
			return fmt.Errorf("%s = %s: must be greater than %s%s", name, show, g, maxPart(tag))
		}
	}
	if m, ok := tag.Lookup("max"); ok {
		if hi, _ := strconv.ParseFloat(m, 64); x > hi {
			return fmt.Errorf("%s = %s: must be at most %s", name, show, m)
		}
	}
	if l, ok := tag.Lookup("lt"); ok {
		if hi, _ := strconv.ParseFloat(l, 64); !(x < hi) {
			return fmt.Errorf("%s = %s: must be less than %s", name, show, l)
		}
	}
	return nil
}

func maxPart(tag reflect.StructTag) string {
	if m, ok := tag.Lookup("max"); ok {
		return " and at most " + m
	}
	if m, ok := tag.Lookup("lt"); ok {
		return " and less than " + m
	}
	return ""
}

func orList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Range describes a key's allowed values for its doc line ("" when unbounded).
func Range(tag reflect.StructTag) string {
	if r, ok := tag.Lookup("rangedoc"); ok {
		return r
	}
	if e, ok := tag.Lookup("enum"); ok {
		return "One of " + orList(strings.Split(e, "|")) + "."
	}
	lo, hasLo := tag.Lookup("min")
	gt, hasGt := tag.Lookup("gt")
	hi, hasHi := tag.Lookup("max")
	lt, hasLt := tag.Lookup("lt")
	switch {
	case hasLo && hasLt:
		return fmt.Sprintf("At least %s, less than %s.", lo, lt)
	case hasLo && hasHi:
		return fmt.Sprintf("Range %s to %s.", lo, hi)
	case hasGt && hasHi:
		return fmt.Sprintf("Greater than %s, at most %s.", gt, hi)
	case hasLo:
		return fmt.Sprintf("At least %s.", lo)
	case hasGt:
		return fmt.Sprintf("Greater than %s.", gt)
	case hasHi:
		return fmt.Sprintf("At most %s.", hi)
	}
	return ""
}

// Encode writes v (a struct of tables) as TOML with a comment above every table and key: its
// doc, range and default. header is written first, as comment lines. Decoding the result with
// Fill'ed defaults underneath gives v back.
func Encode(v any, header string) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	defaults := reflect.New(rv.Type())
	if err := fill(defaults.Elem(), ""); err != nil {
		panic(err)
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString("# " + l + "\n")
	}
	t := rv.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key, ok := f.Tag.Lookup("toml")
		if !ok || key == "-" || f.Type.Kind() != reflect.Struct {
			continue
		}
		b.WriteString("\n")
		comment(&b, f.Tag.Get("doc"))
		fmt.Fprintf(&b, "[%s]\n", key)
		encodeTable(&b, rv.Field(i), defaults.Elem().Field(i))
	}
	return b.String()
}

func encodeTable(b *strings.Builder, v, def reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key, ok := f.Tag.Lookup("toml")
		if !ok || key == "-" {
			continue
		}
		doc := f.Tag.Get("doc")
		if r := Range(f.Tag); r != "" {
			doc += " " + r
		}
		doc += " Default " + Value(def.Field(i)) + "."
		comment(b, doc)
		fmt.Fprintf(b, "%s = %s\n", key, Value(v.Field(i)))
	}
}

func comment(b *strings.Builder, doc string) {
	for _, l := range strings.Split(doc, "\n") {
		b.WriteString("# " + strings.TrimSpace(l) + "\n")
	}
}

// Value formats v as a TOML value.
func Value(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return Quote(v.String())
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int64, reflect.Int32:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64, reflect.Float32:
		return formatFloat(v.Float())
	case reflect.Slice:
		if v.Len() == 0 {
			return "[]"
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = Value(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Struct:
		var parts []string
		t := v.Type()
		for i := range t.NumField() {
			if key, ok := t.Field(i).Tag.Lookup("toml"); ok && key != "-" {
				parts = append(parts, key+" = "+Value(v.Field(i)))
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	panic(fmt.Sprintf("knobs: no TOML form for %s", v.Type()))
}

// formatFloat is v as a TOML float (always with a '.' or an exponent).
func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// Quote is s as a TOML basic string.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Keys lists every key of v (a struct of tables) as "table.key", in declaration order.
func Keys(v any) []string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	var keys []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for i := range t.NumField() {
			f := t.Field(i)
			key, ok := f.Tag.Lookup("toml")
			if !ok || key == "-" {
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, join(path, key))
				continue
			}
			keys = append(keys, join(path, key))
		}
	}
	walk(rv.Type(), "")
	return keys
}
