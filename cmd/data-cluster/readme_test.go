package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// readmeLine is a line of the README with the heading of the section it is
// in, and whether it is inside a fenced code block (a fence line counts as
// inside).
type readmeLine struct {
	text, section string
	code          bool
}

// readme returns the README's lines.
func readme(t *testing.T) []readmeLine {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var lines []readmeLine
	section, code := "", false
	for _, l := range strings.Split(string(b), "\n") {
		fence := strings.HasPrefix(strings.TrimSpace(l), "```")
		if fence {
			code = !code
		}
		if !code && !fence && strings.HasPrefix(l, "#") {
			section = strings.TrimLeft(l, "# ")
		}
		lines = append(lines, readmeLine{l, section, code || fence})
	}
	return lines
}

// readmeRow is one row of a README table: its cells, and the heading of the
// section it is in.
type readmeRow struct {
	section string
	cells   []string
}

// readmeTables returns the rows of every README table whose header is
// header, in order.
func readmeTables(t *testing.T, header string) []readmeRow {
	t.Helper()
	var rows []readmeRow
	lines := readme(t)
	for i := 0; i < len(lines); i++ {
		if lines[i].code || lines[i].text != header {
			continue
		}
		section := lines[i].section
		for i += 2; i < len(lines) && strings.HasPrefix(lines[i].text, "|"); i++ {
			cells := strings.Split(strings.Trim(lines[i].text, "|"), " | ")
			for j := range cells {
				cells[j] = strings.TrimSpace(cells[j])
			}
			rows = append(rows, readmeRow{section, cells})
		}
	}
	if len(rows) == 0 {
		t.Fatalf("the README has no table headed %q", header)
	}
	return rows
}

var flagCell = regexp.MustCompile("`--([a-z0-9-]+)`")

// TestREADMEFlagTablesMatchHelp keeps the README's flag tables equal to
// --help: every flag --help lists is in a table of the README, every flag in
// the tables is in --help, with the same default. The tables of the server's
// flags (Flags, Running a cluster) are checked against data-cluster --help,
// the one of the load generator against data-cluster bench --help, the one
// of Migrating from Redis against data-cluster import --help. A
// default that --help does not print (zero, empty or false) is written 0,
// none or off in the README.
func TestREADMEFlagTablesMatchHelp(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		section func(string) bool
	}{
		{"server", []string{"--help"}, func(s string) bool { return s != "Load generator" && s != "Migrating from Redis" }},
		{"bench", []string{"bench", "--help"}, func(s string) bool { return s == "Load generator" }},
		{"import", []string{"import", "--help"}, func(s string) bool { return s == "Migrating from Redis" }},
	}
	rows := readmeTables(t, "| flag | default | meaning |")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			help := helpFlags(t, tt.args...)
			inREADME := map[string]bool{}
			for _, r := range rows {
				if !tt.section(r.section) {
					continue
				}
				names := flagCell.FindAllStringSubmatch(r.cells[0], -1)
				if len(names) == 0 {
					t.Errorf("section %q: row %q names no flag", r.section, r.cells[0])
				}
				def := strings.Trim(r.cells[1], "`")
				for _, m := range names {
					name := m[1]
					inREADME[name] = true
					h, ok := help[name]
					switch {
					case !ok:
						t.Errorf("section %q: --%s is not in %v", r.section, name, tt.args)
					case h.def == "" && def != "0" && def != "none" && def != "off":
						t.Errorf("section %q: --%s: got default %q, want 0, none or off (--help shows none)", r.section, name, def)
					case h.def != "" && def != h.def:
						t.Errorf("section %q: --%s: got default %q, want %q as --help shows", r.section, name, def, h.def)
					}
				}
			}
			for name := range help {
				if !inREADME[name] {
					t.Errorf("--%s of %v is in no flag table of the README", name, tt.args)
				}
			}
		})
	}
}

// TestREADMEListsEveryPackage checks that the README's architecture table
// has a row for every package under internal/, and no row for a package that
// does not exist. A package inside internal/storage may instead be named in
// that row as `name/`.
func TestREADMEListsEveryPackage(t *testing.T) {
	rows := readmeTables(t, "| package | what it does |")
	listed := map[string]string{} // package path → its row's text
	for _, r := range rows {
		listed[strings.Trim(r.cells[0], "`")] = r.cells[1]
	}
	var pkgs []string
	err := filepath.WalkDir("../../internal", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		pkg := strings.TrimPrefix(filepath.ToSlash(filepath.Dir(path)), "../../")
		if !slices.Contains(pkgs, pkg) {
			pkgs = append(pkgs, pkg)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		if _, ok := listed[pkg]; ok {
			continue
		}
		parent, name := filepath.Dir(pkg), filepath.Base(pkg)
		if !strings.Contains(listed[parent], "`"+name+"/`") {
			t.Errorf("%s is not in the README's architecture table", pkg)
		}
	}
	for pkg := range listed {
		if strings.HasPrefix(pkg, "internal/") && !slices.Contains(pkgs, pkg) {
			t.Errorf("the README's architecture table lists %s, which does not exist", pkg)
		}
	}
}

// TestREADMETLSRecipe runs the README's OpenSSL commands for a CA, a
// server and a client certificate, starts the server with the files on the
// flags the README gives them to, and talks to it as the client, with
// mutual TLS.
func TestREADMETLSRecipe(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("needs openssl")
	}
	// The recipe is the TLS section's code block with openssl req commands.
	var section, block, recipe []string
	for _, l := range readme(t) {
		if l.section != "TLS" {
			continue
		}
		section = append(section, l.text)
		switch {
		case strings.HasPrefix(l.text, "```"):
			if len(block) > 0 && recipe == nil &&
				slices.ContainsFunc(block, func(s string) bool { return strings.HasPrefix(s, "openssl req") }) {
				recipe = block
			}
			block = nil
		case l.code:
			block = append(block, l.text)
		}
	}
	if len(recipe) == 0 {
		t.Fatal("no block of openssl commands in the README's TLS section")
	}
	server := "--tls-cert server.crt --tls-key server.key --tls-ca ca.crt"
	if !strings.Contains(strings.Join(section, "\n"), server) {
		t.Fatalf("the README's TLS section does not start the server with %q", server)
	}

	dir := t.TempDir()
	sh := exec.Command("sh", "-e")
	sh.Dir = dir
	sh.Stdin = strings.NewReader(strings.Join(recipe, "\n") + "\n")
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the recipe failed: %v\n%s", err, out)
	}
	file := func(name string) string { return filepath.Join(dir, name) }
	banner, _ := runInProcess(t, "--addr", "", "--tls-addr", "127.0.0.1:0",
		"--tls-cert", file("server.crt"), "--tls-key", file("server.key"), "--tls-ca", file("ca.crt"))
	addr := strings.Fields(banner)[3]

	caPEM, err := os.ReadFile(file("ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.crt holds no certificate")
	}
	client, err := tls.LoadX509KeyPair(file("client.crt"), file("client.key"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config *tls.Config
		ok     bool
	}{
		{"client certificate, server by name", &tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: []tls.Certificate{client}}, true},
		{"client certificate, server by address", &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{client}}, true},
		{"no client certificate", &tls.Config{RootCAs: roots, ServerName: "localhost"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := tls.Dial("tcp", addr, tt.config)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(nc, "SET k v\nGET k\n")
			rd := bufio.NewReader(nc)
			got, err := rd.ReadString('\n')
			if !tt.ok {
				if err == nil {
					t.Fatalf("got %q, want the connection refused", got)
				}
				return
			}
			if more, _ := rd.ReadString('\n'); got+more != "OK\nv\n" {
				t.Fatalf("got %q, want %q", got+more, "OK\nv\n")
			}
		})
	}
}
