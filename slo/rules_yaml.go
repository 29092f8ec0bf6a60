package slo

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// This file writes a RuleFile as YAML by hand. The root module takes no YAML
// dependency, and a rule file needs little of YAML: maps with fixed keys,
// strings and durations. Every string from the caller is written
// double-quoted, with YAML's escapes for what is not printable; expressions,
// which this package writes, as literal blocks when they can be, so that the
// file reads like a hand-written one. The tests parse the output back with a
// YAML library and check it with promtool.

// WriteTo writes f as a Prometheus rule file, the format of the rule_files
// of Prometheus's configuration, which promtool check rules validates. It
// implements io.WriterTo.
func (f RuleFile) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	bw.WriteString("# Prometheus rules written by slo.PrometheusRules: regenerate them rather than edit them.\n")
	if len(f.Groups) == 0 {
		bw.WriteString("groups: []\n")
	} else {
		bw.WriteString("groups:\n")
	}
	for _, g := range f.Groups {
		fmt.Fprintf(bw, "  - name: %s\n", yamlQuote(g.Name))
		if len(g.Rules) == 0 {
			bw.WriteString("    rules: []\n")
			continue
		}
		bw.WriteString("    rules:\n")
		for _, r := range g.Rules {
			if r.Alert != "" {
				fmt.Fprintf(bw, "      - alert: %s\n", yamlQuote(r.Alert))
			} else {
				fmt.Fprintf(bw, "      - record: %s\n", yamlQuote(r.Record))
			}
			bw.WriteString("        expr: ")
			writeExpr(bw, r.Expr, "          ")
			if r.For > 0 {
				fmt.Fprintf(bw, "        for: %s\n", promDuration(r.For))
			}
			writeMap(bw, "labels", r.Labels)
			writeMap(bw, "annotations", r.Annotations)
		}
	}
	err := bw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func writeMap(w *bufio.Writer, key string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "        %s:\n", key)
	for _, k := range keys {
		fmt.Fprintf(w, "          %s: %s\n", yamlKey(k), yamlQuote(m[k]))
	}
}

// writeExpr writes s as a literal block ("|-") indented by indent when a
// literal block holds it unchanged, and else double-quoted.
func writeExpr(w *bufio.Writer, s, indent string) {
	if !literalSafe(s) {
		w.WriteString(yamlQuote(s))
		w.WriteByte('\n')
		return
	}
	w.WriteString("|-\n")
	for line := range strings.SplitSeq(s, "\n") {
		if line != "" {
			w.WriteString(indent)
			w.WriteString(line)
		}
		w.WriteByte('\n')
	}
}

// literalSafe reports whether a literal block scalar reads back as s: its
// first line does not start with a space (which would set the block's
// indentation), no line ends in white space or is empty, and every character
// is printable in YAML.
func literalSafe(s string) bool {
	if s == "" || s[0] == ' ' || !utf8.ValidString(s) {
		return false
	}
	for line := range strings.SplitSeq(s, "\n") {
		if line == "" || strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t") {
			return false
		}
		for _, r := range line {
			if !yamlPrintable(r) || r == '\t' || r == '\r' {
				return false
			}
		}
	}
	return true
}

// yamlPrintable reports whether r may appear raw in a YAML stream: YAML
// 1.2's c-printable, less the line breaks other than \n that YAML 1.1
// parsers also break lines at, and the byte order mark.
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0x20 && r <= 0x7e:
		return true
	case r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff:
		return false
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// yamlQuote writes s as a YAML double-quoted scalar, escaping quotes,
// backslashes and every character that is not printable. Bytes that are not
// UTF-8 become U+FFFD, as they would in any YAML parser's input.
func yamlQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
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
		case yamlPrintable(r):
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// yamlKey writes a map key: bare when it is a label name that no YAML
// parser, of version 1.1 or 1.2, reads as anything but that string, and else
// double-quoted.
func yamlKey(k string) string {
	if k == "" {
		return yamlQuote(k)
	}
	for i, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return yamlQuote(k)
		}
	}
	switch strings.ToLower(k) {
	case "y", "yes", "n", "no", "on", "off", "true", "false", "null":
		return yamlQuote(k)
	}
	return k
}
