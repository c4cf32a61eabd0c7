package pickle

import (
	"reflect"
	"testing"
)

func TestFlatten(t *testing.T) {
	tests := []struct {
		name string
		pkl  []byte
		want []Leaf
		err  string
	}{
		{"nested", asm("}(", str("a"), "}", str("b"), "K", 1, "s", str("c"), "N", "u."),
			[]Leaf{{"a/b", int64(1)}, {"c", nil}}, ""},
		{"int and bool keys", asm("}(K", 3, str("x"), 0x88, "K", 1, "u."), []Leaf{{"3", "x"}, {"true", int64(1)}}, ""},
		{"lists are leaves", asm("}", str("l"), "](", "}", "e", "s."), nil, ""},
		{"empty dict", asm("}."), nil, ""},
		{"same path twice", asm("}(", str("a/b"), "K", 1, str("a"), "}", str("b"), "K", 2, "s", "u."), nil, "the key a/b appears twice"},
		{"float key", asm("}", "G", "\x3f\xf0\x00\x00\x00\x00\x00\x00", "Ns."), nil, "a dict key of type float"},
		{"not a dict", asm("]."), nil, "the file holds a list, not a dict"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Unpickle(tc.pkl, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Flatten(v, "/")
			if tc.err != "" {
				wantErr(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "lists are leaves" {
				if len(got) != 1 || got[0].Key != "l" || len(got[0].Value.(*List).Items) != 1 {
					t.Errorf("got %v", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestToPlainRefuses(t *testing.T) {
	tests := []struct {
		name string
		pkl  []byte
		want string
	}{
		{"object", asm("}(", str("a"), "]", global("torch", "device"), "(", str("cpu"), "tR", "a", "u."), "a[0]: a torch.device object is not a plain value"},
		{"global", asm("(", global("torch", "float32"), "t."), "[0]: a global torch.float32 is not a plain value"},
		{"int key", asm("}K", 1, "Ns."), "a dict key of type int (1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Unpickle(tc.pkl, Options{Globals: TorchGlobals()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = ToPlain(v)
			wantErr(t, err, tc.want)
		})
	}
}
