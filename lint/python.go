package lint

import (
	"regexp"
	"strings"
)

// pyEcdhCurve matches a literal argument of SSLContext.set_ecdh_curve.
var pyEcdhCurve = regexp.MustCompile(`\.set_ecdh_curve\(\s*[bBrRuU]?(["'])([^"'\\]*)["']\s*\)`)

// rulePython is PQ441: set_ecdh_curve with a literal curve name. The call
// takes exactly one curve, so whatever it names, the context loses every
// hybrid group; there is no edit that keeps the call and fixes it.
func rulePython(s *source, ln, base int, code string, _ []string) []Finding {
	var fs []Finding
	for _, m := range pyEcdhCurve.FindAllStringSubmatchIndex(code, -1) {
		curve := code[m[4]:m[5]]
		fs = append(fs, s.finding("PQ441", base+m[0]+1, base+m[1],
			"set_ecdh_curve(\""+curve+"\") limits the context to the one curve "+curve+": no hybrid group can be negotiated; delete the call so that OpenSSL's default groups apply (X25519MLKEM768 first from OpenSSL 3.5)", nil))
	}
	return fs
}

// frozenImage is an image line that stopped being built before the
// distribution releases with OpenSSL 3.5: its tags without a distribution
// suffix (python:3.8-slim) resolve to the last one it was built on.
type frozenImage struct {
	image, version string // python, 3.8
	debian, alpine string // the last Debian codename and Alpine release built
}

// frozenImages: python 3.8 (end of life 2024-10) was last built on Debian
// bookworm and Alpine 3.20; docker-library/python has no trixie or later
// Alpine variant for it (python 3.9 does have trixie, so its unsuffixed
// tags are not judged).
var frozenImages = []frozenImage{{"python", "3.8", "bookworm", "3.20"}}

// frozenImageDistro returns the distribution behind an unsuffixed tag of
// a frozen image line, or empty strings.
func frozenImageDistro(name, tag string) (distro, release string) {
	for _, f := range frozenImages {
		v, rest, _ := strings.Cut(tag, "-")
		if name != f.image || (v != f.version && !strings.HasPrefix(v, f.version+".")) {
			continue
		}
		switch rest {
		case "", "slim":
			return "debian", f.debian
		case "alpine":
			return "alpine", f.alpine
		}
	}
	return "", ""
}
