package knobs

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

type item struct {
	N int     `toml:"n" min:"1" doc:"count"`
	X float64 `toml:"x" gt:"0" lt:"1" doc:"fraction"`
}

type section struct {
	Size  int      `toml:"size" default:"8" min:"2" max:"64" doc:"Side."`
	Rate  float64  `toml:"rate" default:"0.5" min:"0" max:"1" doc:"A rate."`
	Mode  string   `toml:"mode" default:"\"a\"" enum:"a|b" doc:"Mode."`
	Dev   string   `toml:"dev" default:"\"cpu\"" pattern:"cpu|cuda:[0-9]+" rangedoc:"must be cpu or cuda:N" doc:"Device."`
	Name  string   `toml:"name" default:"\"x\"" nonempty:"true" doc:"Name."`
	Items []item   `toml:"items" default:"[{n = 1, x = 0.5}]" doc:"Items."`
	List  []int    `toml:"list" default:"[1, 2]" min:"0" doc:"List."`
	Flag  bool     `toml:"flag" default:"true" doc:"Flag."`
	Skip  struct{} `toml:"-"`
}

type doc struct {
	S section `toml:"s" doc:"The section."`
}

func TestFillCheckEncode(t *testing.T) {
	var d doc
	if err := Fill(&d); err != nil {
		t.Fatal(err)
	}
	want := section{Size: 8, Rate: 0.5, Mode: "a", Dev: "cpu", Name: "x", Items: []item{{1, 0.5}}, List: []int{1, 2}, Flag: true}
	if !reflect.DeepEqual(d.S, want) {
		t.Fatalf("defaults %+v, want %+v", d.S, want)
	}
	if err := Check(d.S, "s"); err != nil {
		t.Fatalf("defaults do not pass: %v", err)
	}
	for _, tc := range []struct {
		mod  func(*section)
		want string
	}{
		{func(s *section) { s.Size = 1 }, "s.size = 1: must be at least 2 and at most 64"},
		{func(s *section) { s.Size = 65 }, "s.size = 65: must be at most 64"},
		{func(s *section) { s.Rate = math.NaN() }, "s.rate = NaN: must be a finite number"},
		{func(s *section) { s.Rate = math.Inf(-1) }, "s.rate = -Inf: must be a finite number"},
		{func(s *section) { s.Mode = "c" }, `s.mode = "c": must be "a" or "b"`},
		{func(s *section) { s.Dev = "gpu" }, `s.dev = "gpu": must be cpu or cuda:N`},
		{func(s *section) { s.Name = "" }, `s.name = "": must not be empty`},
		{func(s *section) { s.Items = []item{{1, 0.5}, {1, 1}} }, "s.items[1].x = 1: must be less than 1"},
		{func(s *section) { s.Items = []item{{0, 0.5}} }, "s.items[0].n = 0: must be at least 1"},
		{func(s *section) { s.List = []int{3, -1} }, "s.list[1] = -1: must be at least 0"},
	} {
		s := want
		s.Items = append([]item(nil), want.Items...)
		tc.mod(&s)
		if err := Check(s, "s"); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	text := Encode(d, "header line")
	for _, line := range []string{"# header line", "# The section.", "[s]", "# Side. Range 2 to 64. Default 8.", "size = 8",
		`# Mode. One of "a" or "b". Default "a".`, "items = [{n = 1, x = 0.5}]", "list = [1, 2]", "rate = 0.5"} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("Encode lacks %q:\n%s", line, text)
		}
	}
	var back doc
	if _, err := toml.Decode(text, &back); err != nil || !reflect.DeepEqual(back, d) {
		t.Errorf("round trip: %v\n%+v\n%+v", err, back, d)
	}
	if k := Keys(d); strings.Join(k, ",") != "s.size,s.rate,s.mode,s.dev,s.name,s.items,s.list,s.flag" {
		t.Errorf("Keys = %v", k)
	}
}
