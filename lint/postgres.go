package lint

import (
	"regexp"
	"strconv"
	"strings"
)

// PostgreSQL postgresql.conf: PQ701 (ssl_ecdh_curve) and PQ702 (a
// classical ssl_groups). PostgreSQL 15-17 hand ssl_ecdh_curve to OpenSSL as
// one EC curve, so no value can make them hybrid; PostgreSQL 18 renamed it
// ssl_groups and takes an OpenSSL group list.

var (
	pgSetting = regexp.MustCompile(`^\s*(ssl_ecdh_curve|ssl_groups)\s*=?\s*('([^']*)'|[^\s#']+)`)
	// pgPathVersion finds the major version in the usual package layouts:
	// /etc/postgresql/18/main, /var/lib/pgsql/18/data, postgresql-18...
	pgPathVersion = regexp.MustCompile(`(?i)(?:postgres(?:ql)?|pgsql)[-_/]?(\d{1,2})(?:/|$|\.)`)
)

// pgHybridGroups is what the PQ701/PQ702 fixes write.
const pgHybridGroups = "X25519MLKEM768:X25519:prime256v1"

// postgresMajor returns the major version the file shows: from its path, or
// 18 when it already sets ssl_groups (which only 18+ know); 0 if unknown.
func postgresMajor(s *source, path string, code []string) int {
	// The directory nearest the file wins: /src/postgres-15-tools/etc/postgresql/18/main.
	ms := pgPathVersion.FindAllStringSubmatch(strings.ReplaceAll(path, `\`, "/"), -1)
	for i := len(ms) - 1; i >= 0; i-- {
		if v, err := strconv.Atoi(ms[i][1]); err == nil && v >= 9 {
			return v
		}
	}
	for _, l := range code {
		if m := pgSetting.FindStringSubmatch(l); m != nil && m[1] == "ssl_groups" {
			return 18
		}
	}
	return 0
}

func checkPostgres(s *source, env *checkEnv) []Finding {
	code := s.codeLines()
	major := postgresMajor(s, env.path, code)
	var fs []Finding
	for i, l := range code {
		m := pgSetting.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		base := s.posLC(i+1, 1).Offset
		key := l[m[2]:m[3]]
		val := l[m[4]:m[5]]
		inner, ia, ib := val, m[4], m[5]
		if m[6] >= 0 {
			inner, ia, ib = l[m[6]:m[7]], m[6], m[7]
		}
		if key == "ssl_groups" {
			g := classifyGroups(splitGroups(inner))
			if !g.classical() {
				continue
			}
			fs = append(fs, s.finding("PQ702", base+ia, base+ib, curveMessage("PostgreSQL ssl_groups", g)+" (needs PostgreSQL built with OpenSSL 3.5 or later)",
				s.replace("put "+hybridName+" first", base+ia, base+ia, hybridName+":")))
			continue
		}
		// ssl_ecdh_curve: one curve before 18, a list from 18 on.
		g := classifyGroups(splitGroups(inner))
		if major >= 18 {
			if !g.classical() {
				continue
			}
			fs = append(fs, s.finding("PQ701", base+m[2], base+m[5], "PostgreSQL "+strconv.Itoa(major)+" ssl_ecdh_curve = "+val+" names no hybrid group; PostgreSQL 18 calls the setting ssl_groups and takes a list",
				s.replace("write ssl_groups = '"+pgHybridGroups+"' (PostgreSQL 18+ built with OpenSSL 3.5+)", base+m[2], base+m[5], "ssl_groups = '"+pgHybridGroups+"'")))
			continue
		}
		ver := "PostgreSQL 15-17"
		if major > 0 {
			ver = "PostgreSQL " + strconv.Itoa(major)
		}
		fs = append(fs, s.finding("PQ701", base+m[2], base+m[5], ver+" passes ssl_ecdh_curve = "+val+" to OpenSSL as one EC curve: it cannot negotiate X25519 or any hybrid group (every hybrid client pays a HelloRetryRequest and ends on a classical curve). Upgrade to PostgreSQL 18 and set ssl_groups = '"+pgHybridGroups+"', or put 'pqtls tunnel server' in front of it; not fixed automatically, since ssl_groups would stop this version from starting", nil))
	}
	return fs
}

// Kafka brokers and clients (server.properties, client.properties...):
// PQ711, ssl.enabled.protocols or ssl.protocol without TLSv1.3.
var kafkaProtocols = regexp.MustCompile(`^\s*(ssl\.enabled\.protocols|ssl\.protocol)\s*[=:]\s*(\S(?:.*\S)?)\s*$`)

func ruleKafka(s *source, ln, base int, code string, _ []string) []Finding {
	m := kafkaProtocols.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	key, val := code[m[2]:m[3]], code[m[4]:m[5]]
	if strings.Contains(strings.ToUpper(val), "TLSV1.3") || strings.Contains(val, "$") {
		return nil
	}
	a, b := base+m[4], base+m[5]
	msg := "Kafka " + key + "=" + val + " does not include TLSv1.3: hybrid key exchange exists only in TLS 1.3"
	if key == "ssl.protocol" {
		return []Finding{s.finding("PQ711", a, b, msg, s.replace("use TLSv1.3 (the Kafka default on Java 11+; TLS 1.2 stays enabled through ssl.enabled.protocols)", a, b, "TLSv1.3"))}
	}
	return []Finding{s.finding("PQ711", a, b, msg, s.replace("add TLSv1.3", b, b, ",TLSv1.3"))}
}
