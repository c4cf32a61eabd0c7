package data

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestReadDiagnoses(t *testing.T) {
	adnimerge := "RID,PTID,VISCODE,DX_bl,DX\n2,011_S_0002,bl,CN,CN\n2,011_S_0002,m06,CN,\n3,011_S_0003,bl,AD,Dementia\n3,011_S_0003,m12,AD,Dementia\n4,011_S_0004,bl,LMCI,MCI\n4,011_S_0004,m24,LMCI,Dementia\n"
	tests := []struct {
		name         string
		csv          string
		id, class    string
		rename       map[string]string
		wantCols     [2]string
		want         map[string]string
		wantConflict []string
		wantErr      string
	}{
		{name: "collection CSV", csv: "\ufeffImage Data ID,Subject,Group\nI1,002_S_0295,CN\nI2,002_S_0295,CN\nI3, 002_S_0413 ,AD\n",
			rename: map[string]string{"CN": "NC"}, wantCols: [2]string{"Subject", "Group"}, want: map[string]string{"002_S_0295": "NC", "002_S_0413": "AD"}},
		{name: "ADNIMERGE baseline", csv: adnimerge, wantCols: [2]string{"PTID", "DX_bl"},
			want: map[string]string{"011_S_0002": "CN", "011_S_0003": "AD", "011_S_0004": "LMCI"}},
		{name: "ADNIMERGE per visit", csv: adnimerge, class: "dx", wantCols: [2]string{"PTID", "DX"},
			want: map[string]string{"011_S_0002": "CN", "011_S_0003": "Dementia"}, wantConflict: []string{"011_S_0004"}},
		{name: "quoted fields, ragged rows", csv: "Subject,\"Group, baseline\"\n\"a,1\",AD\nshort\nb,\n", class: "Group, baseline",
			wantCols: [2]string{"Subject", "Group, baseline"}, want: map[string]string{"a,1": "AD"}},
		{name: "no id column", csv: "Name,Group\nx,AD\n", wantErr: "none of the columns Subject, PTID"},
		{name: "named class column missing", csv: "Subject,Group\nx,AD\n", class: "Diagnosis", wantErr: `no column "Diagnosis" (columns: Subject, Group; set --class-col)`},
		{name: "empty", csv: "", wantErr: "empty CSV"},
		{name: "bad quote", csv: "Subject,Group\n\"x,AD\n", wantErr: "extraneous or missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ReadDiagnoses(strings.NewReader(tc.csv), tc.id, tc.class, tc.rename)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.IDCol != tc.wantCols[0] || d.ClassCol != tc.wantCols[1] {
				t.Errorf("columns %q %q, want %q", d.IDCol, d.ClassCol, tc.wantCols)
			}
			if !maps.Equal(d.Class, tc.want) {
				t.Errorf("classes %v, want %v", d.Class, tc.want)
			}
			if got := slices.Sorted(maps.Keys(d.Conflict)); !slices.Equal(got, tc.wantConflict) {
				t.Errorf("conflicts %v, want %v", got, tc.wantConflict)
			}
		})
	}
}

func TestParseRenameAndClassNames(t *testing.T) {
	m, err := ParseRename(" CN=NC, Dementia = AD ,")
	if err != nil || !maps.Equal(m, map[string]string{"CN": "NC", "Dementia": "AD"}) {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []string{"CN", "=NC", "CN="} {
		if _, err := ParseRename(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	for c, ok := range map[string]bool{"AD": true, "MCI-late_2.x+": true, "": false, ".hidden": false, "a/b": false, "A D": false, strings.Repeat("x", 65): false} {
		if ValidClassName(c) != ok {
			t.Errorf("ValidClassName(%q) = %v", c, !ok)
		}
	}
}

func TestParseSliceSelect(t *testing.T) {
	tests := []struct {
		in   string
		want SliceSelect
		err  bool
	}{
		{"", SliceSelect{Mode: "all"}, false},
		{"all", SliceSelect{Mode: "all"}, false},
		{"middle:20", SliceSelect{Mode: "middle", N: 20}, false},
		{"60:100", SliceSelect{Mode: "index", From: 60, To: 100}, false},
		{"40%:60%", SliceSelect{Mode: "percent", From: 40, To: 60}, false},
		{"middle:0", SliceSelect{}, true},
		{"middle:x", SliceSelect{}, true},
		{"100:60", SliceSelect{}, true},
		{"40%:60", SliceSelect{}, true},
		{"60%:40%", SliceSelect{}, true},
		{"-1:5", SliceSelect{}, true},
		{"some", SliceSelect{}, true},
	}
	for _, tc := range tests {
		got, err := ParseSliceSelect(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParseSliceSelect(%q) = %+v, %v", tc.in, got, err)
		}
		if !tc.err && tc.in != "" {
			if back, _ := ParseSliceSelect(got.String()); back != got {
				t.Errorf("%q: String %q reads back as %+v", tc.in, got.String(), back)
			}
		}
	}
}

// TestSliceSelection: which slices each --slices mode keeps, on the
// reference anatomy (axial foreground on slices 1-16 of 0-17).
func TestSliceSelection(t *testing.T) {
	c, _, err := Canonical(refVolume())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sel   SliceSelect
		minFg float64
		want  []int
	}{
		{SliceSelect{Mode: "all"}, 0.05, seq(1, 17)},
		{SliceSelect{Mode: "all"}, 0.3, seq(6, 16)}, // inferior slices: only the brighter anterior half passes the 10% level
		{SliceSelect{Mode: "all"}, -1, seq(0, 18)},
		{SliceSelect{Mode: "middle", N: 4}, 0.05, seq(7, 11)},
		{SliceSelect{Mode: "middle", N: 40}, 0.05, seq(0, 18)},
		{SliceSelect{Mode: "index", From: 16, To: 30}, 0.05, seq(16, 18)},
		{SliceSelect{Mode: "percent", From: 0, To: 50}, 0.05, seq(1, 9)},
		{SliceSelect{Mode: "percent", From: 50, To: 51}, 0.05, seq(9, 10)},
	}
	for _, tc := range tests {
		res, err := cutVolume(c, cutOptions{plane: Axial, size: 8, bits: 8, lowPct: 0.5, highPct: 99.5, minFg: tc.minFg, sel: tc.sel})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, s := range res.slices {
			got = append(got, s.index)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s min-fg %g: slices %v, want %v", tc.sel, tc.minFg, got, tc.want)
		}
	}
	if _, err := cutVolume(c, cutOptions{plane: Axial, size: 8, bits: 8, lowPct: 0.5, highPct: 99.5, sel: SliceSelect{Mode: "index", From: 40, To: 50}}); err == nil {
		t.Error("no error for slices past the volume")
	}
}

func seq(a, b int) []int {
	var out []int
	for i := a; i < b; i++ {
		out = append(out, i)
	}
	return out
}
