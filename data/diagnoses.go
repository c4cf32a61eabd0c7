package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// MaxCSVBytes bounds a diagnosis CSV (ADNIMERGE is about 15 MB).
const MaxCSVBytes = 256 << 20

// Column names tried, in order, when no --id-col / --class-col is given
// (compared case-insensitively). ADNI's collection CSVs have Subject and
// Group; ADNIMERGE has PTID and DX_bl (the baseline diagnosis: one per
// subject) and DX (per visit).
var (
	IDColumns    = []string{"Subject", "PTID", "Subject ID", "SubjectID", "subject_id", "participant_id"}
	ClassColumns = []string{"Group", "DX_bl", "DX", "Research Group", "Diagnosis", "Label", "Class"}
)

// Diagnoses maps subject ids to classes, as read from a CSV.
type Diagnoses struct {
	IDCol, ClassCol string              // the header names of the columns used
	Class           map[string]string   // subject -> class (renamed)
	Conflict        map[string][]string // subjects with several classes -> those classes, sorted
	Rows            int                 // data rows read
}

// ReadDiagnosesFile reads a diagnosis CSV (see ReadDiagnoses).
func ReadDiagnosesFile(path, idCol, classCol string, rename map[string]string) (*Diagnoses, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("data: %s: no such file (give --csv the diagnosis CSV, e.g. ADNIMERGE.csv or the collection's CSV)", path)
		}
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxCSVBytes {
		return nil, fmt.Errorf("data: %s: %d bytes, more than the %d of MaxCSVBytes (is this the diagnosis CSV?)", path, st.Size(), MaxCSVBytes)
	}
	d, err := ReadDiagnoses(io.LimitReader(f, MaxCSVBytes), idCol, classCol, rename)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return d, nil
}

// ReadDiagnoses reads a CSV with a header row. idCol and classCol name the
// subject id and class columns (case-insensitive); "" tries IDColumns and
// ClassColumns in order. Values are trimmed; rows with an empty id or class
// are ignored (ADNIMERGE leaves DX empty at some visits); rename maps class
// values (e.g. CN -> NC). A subject whose rows give several classes is
// listed in Conflict instead of Class.
func ReadDiagnoses(r io.Reader, idCol, classCol string, rename map[string]string) (*Diagnoses, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("empty CSV (want a header row with a subject id and a class column)")
		}
		return nil, fmt.Errorf("reading the CSV header: %s", oneLine(err.Error()))
	}
	head = slices.Clone(head)
	for i := range head {
		head[i] = strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff"))
	}
	find := func(name string, tries []string, flag string) (int, error) {
		cands := tries
		if name != "" {
			cands = []string{name}
		}
		for _, c := range cands {
			for i, h := range head {
				if strings.EqualFold(h, c) {
					return i, nil
				}
			}
		}
		shown := head
		if len(shown) > 20 {
			shown = append(slices.Clone(shown[:20]), "...")
		}
		if name != "" {
			return 0, fmt.Errorf("no column %q (columns: %s; set %s)", name, oneLine(strings.Join(shown, ", ")), flag)
		}
		return 0, fmt.Errorf("none of the columns %s (columns: %s; set %s)", strings.Join(tries, ", "), oneLine(strings.Join(shown, ", ")), flag)
	}
	ic, err := find(idCol, IDColumns, "--id-col")
	if err != nil {
		return nil, err
	}
	cc, err := find(classCol, ClassColumns, "--class-col")
	if err != nil {
		return nil, err
	}
	d := &Diagnoses{IDCol: head[ic], ClassCol: head[cc], Class: map[string]string{}, Conflict: map[string][]string{}}
	seen := map[string]map[string]bool{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s", oneLine(err.Error()))
		}
		d.Rows++
		if ic >= len(rec) || cc >= len(rec) {
			continue
		}
		id, class := strings.TrimSpace(rec[ic]), strings.TrimSpace(rec[cc])
		if id == "" || class == "" {
			continue
		}
		if to, ok := rename[class]; ok {
			class = to
		}
		if seen[id] == nil {
			seen[id] = map[string]bool{}
		}
		seen[id][class] = true
	}
	for id, classes := range seen {
		if len(classes) == 1 {
			for c := range classes {
				d.Class[id] = c
			}
			continue
		}
		var cs []string
		for c := range classes {
			cs = append(cs, c)
		}
		slices.Sort(cs)
		d.Conflict[id] = cs
	}
	return d, nil
}

// ParseRename reads "CN=NC,Dementia=AD" into a map.
func ParseRename(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, ok := strings.Cut(part, "=")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || to == "" {
			return nil, fmt.Errorf("data: --rename %q: give FROM=TO pairs separated by commas, e.g. CN=NC,Dementia=AD", s)
		}
		m[from] = to
	}
	return m, nil
}

// ValidClassName reports whether c can be a class folder: letters, digits
// and ._+- , not starting with a dot, at most 64 bytes.
func ValidClassName(c string) bool {
	if c == "" || len(c) > 64 || c[0] == '.' {
		return false
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._+-", r)) {
			return false
		}
	}
	return true
}
