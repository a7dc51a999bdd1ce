package lint

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// hasTLS13 reports whether a protocol list names TLS 1.3, in any of the
// spellings the products use (TLSv1.3, tlsv1.3).
func hasTLS13(protos []string) bool {
	for _, p := range protos {
		if strings.EqualFold(strings.Trim(p, `"' `), "TLSv1.3") {
			return true
		}
	}
	return false
}

// tlsVersionName is a protocol name as MySQL, Redis and Erlang spell it.
var tlsVersionName = regexp.MustCompile(`(?i)^(sslv3|tlsv1(\.[0123])?)$`)

// onlyTLSVersions reports a non-empty list of TLS/SSL protocol names only:
// an empty value or anything else (a variable, a typo) is not judged.
func onlyTLSVersions(protos []string) bool {
	if len(protos) == 0 {
		return false
	}
	for _, p := range protos {
		if !tlsVersionName.MatchString(strings.Trim(p, `"' `)) {
			return false
		}
	}
	return true
}

// --- MySQL / MariaDB ---

var mysqlTLSVersion = regexp.MustCompile(`^\s*((?:loose[-_])?(?:admin[-_])?tls[-_]version)\s*=\s*(["']?)([^"'#;]*?)(["']?)\s*$`)

// ruleMySQL is PQ451: tls_version / admin_tls_version without TLSv1.3.
func ruleMySQL(s *source, ln, base int, code string, _ []string) []Finding {
	m := mysqlTLSVersion.FindStringSubmatchIndex(code)
	if m == nil || code[m[4]:m[5]] != code[m[8]:m[9]] {
		return nil
	}
	list := code[m[6]:m[7]]
	protos := strings.Split(list, ",")
	for i := range protos {
		protos[i] = strings.TrimSpace(protos[i])
	}
	if !onlyTLSVersions(protos) || hasTLS13(protos) {
		return nil
	}
	end := base + m[7]
	return []Finding{s.finding("PQ451", base+m[2], end, code[m[2]:m[3]]+" = "+list+" does not include TLSv1.3: every connection stays on TLS 1.2, where no hybrid group exists",
		s.replace("add TLSv1.3", end, end, ",TLSv1.3"))}
}

// mysqlTLSFlag is the --tls-version / --admin-tls-version option of
// mysqld, mariadbd and the mysql/mariadb clients in a command line.
var mysqlTLSFlag = regexp.MustCompile(`--((?:admin-)?tls-version)[= ]["']?([A-Za-z0-9.,]+)`)

// ruleMySQLFlag is PQ451 for the command-line form (compose files, units,
// scripts).
func ruleMySQLFlag(s *source, ln, base int, code string, _ []string) []Finding {
	m := mysqlTLSFlag.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	list := code[m[4]:m[5]]
	protos := strings.Split(list, ",")
	if !onlyTLSVersions(protos) || hasTLS13(protos) {
		return nil
	}
	end := base + m[5]
	return []Finding{s.finding("PQ451", base+m[2]-2, end, "--"+code[m[2]:m[3]]+"="+list+" does not include TLSv1.3: every connection stays on TLS 1.2, where no hybrid group exists",
		s.replace("add TLSv1.3", end, end, ",TLSv1.3"))}
}

// --- Redis / Valkey ---

var redisProtocols = regexp.MustCompile(`^\s*(tls-protocols)\s+(?:"([^"]*)"|'([^']*)'|(\S+))\s*$`)

// ruleRedis is PQ452: tls-protocols without TLSv1.3.
func ruleRedis(s *source, ln, base int, code string, _ []string) []Finding {
	m := redisProtocols.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	var a, b int
	quoted := true
	switch {
	case m[4] >= 0:
		a, b = m[4], m[5]
	case m[6] >= 0:
		a, b = m[6], m[7]
	default:
		a, b, quoted = m[8], m[9], false
	}
	list := code[a:b]
	protos := strings.Fields(list)
	if !onlyTLSVersions(protos) || hasTLS13(protos) {
		return nil
	}
	fix := s.replace("add TLSv1.3", base+b, base+b, " TLSv1.3")
	if !quoted {
		fix = s.replace("add TLSv1.3", base+a, base+b, `"`+list+` TLSv1.3"`)
	}
	return []Finding{s.finding("PQ452", base+m[2], base+b, "tls-protocols "+list+" does not include TLSv1.3: clients, replicas and the cluster bus stay on TLS 1.2, where no hybrid group exists", fix)}
}

// --- RabbitMQ ---

var rabbitVersion = regexp.MustCompile(`^(\s*)([A-Za-z0-9_.]*ssl(?:_options)?)\.versions\.(\d+)\s*=\s*(\S+)\s*$`)

// rabbitListener collects the numbered versions keys of one prefix.
type rabbitListener struct {
	prefix        string
	indent        string
	max           int
	protos        []string
	firstA, lastB int // offsets: start of the first key, end of the last line's code
}

// checkRabbitMQ is PQ453: a listener whose versions keys leave out
// tlsv1.3. The fix adds the next numbered key after the last one.
func checkRabbitMQ(s *source) []Finding {
	byPrefix := map[string]*rabbitListener{}
	for i, l := range s.codeLines() {
		m := rabbitVersion.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		prefix := l[m[4]:m[5]]
		n, err := strconv.Atoi(l[m[6]:m[7]])
		if err != nil {
			continue
		}
		base := s.posLC(i+1, 1).Offset
		r := byPrefix[prefix]
		if r == nil {
			r = &rabbitListener{prefix: prefix, indent: l[m[2]:m[3]], firstA: base + m[4]}
			byPrefix[prefix] = r
		}
		r.lastB = base + len(strings.TrimRight(l, " \t"))
		r.max = max(r.max, n)
		r.protos = append(r.protos, l[m[8]:m[9]])
	}
	var fs []Finding
	for _, r := range byPrefix {
		if !onlyTLSVersions(r.protos) || hasTLS13(r.protos) {
			continue
		}
		key := r.prefix + ".versions." + strconv.Itoa(r.max+1)
		fs = append(fs, s.finding("PQ453", r.firstA, r.firstA+len(r.prefix), r.prefix+".versions lists "+strings.Join(r.protos, ", ")+" without tlsv1.3: the listener stays on TLS 1.2, where no hybrid group exists",
			s.replace("add "+key+" = tlsv1.3", r.lastB, r.lastB, "\n"+r.indent+key+" = tlsv1.3")))
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Start.Offset < fs[j].Start.Offset })
	return fs
}

// --- etcd ---

// etcdMaxVersion matches --tls-max-version (flag), ETCD_TLS_MAX_VERSION
// (environment) and tls-max-version (config file) set to TLS1.2.
var etcdMaxVersion = regexp.MustCompile(`(?:--tls-max-version(?:=|\s+)|ETCD_TLS_MAX_VERSION["']?\s*[=:]\s*|(?:^|\s)tls-max-version:\s*)["']?(TLS1\.[012])\b`)

// ruleEtcd is PQ454 in any command line, environment or YAML config.
func ruleEtcd(s *source, ln, base int, code string, _ []string) []Finding {
	m := etcdMaxVersion.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	return []Finding{s.finding("PQ454", base+m[2], base+m[3], "etcd tls-max-version "+code[m[2]:m[3]]+" caps client and peer connections below TLS 1.3, where Go's hybrid X25519MLKEM768 lives",
		s.replace("allow TLS 1.3", base+m[2], base+m[3], "TLS1.3"))}
}

// --- Vault ---

var vaultMaxVersion = regexp.MustCompile(`^\s*tls_max_version\s*=\s*"(tls1[012])"`)

// ruleVault is PQ455: a listener's tls_max_version below tls13. HCL's //
// comments are skipped here (the line rules blank # comments).
func ruleVault(s *source, ln, base int, code string, _ []string) []Finding {
	m := vaultMaxVersion.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	return []Finding{s.finding("PQ455", base+m[2], base+m[3], "Vault listener tls_max_version \""+code[m[2]:m[3]]+"\" keeps connections below TLS 1.3, where Go's hybrid X25519MLKEM768 lives",
		s.replace("allow TLS 1.3", base+m[2], base+m[3], "tls13"))}
}
