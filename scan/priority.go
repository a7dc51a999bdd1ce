package scan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseLifetime parses a data_lifetime tag: "10y", "18m" (months), "90d",
// "2w", or a bare number of years. It returns years.
func ParseLifetime(s string) (float64, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "" {
		return 0, fmt.Errorf("empty data_lifetime: write e.g. 10y, 18m, 90d")
	}
	unit := 1.0
	switch {
	case strings.HasSuffix(v, "y"):
		v = strings.TrimSuffix(v, "y")
	case strings.HasSuffix(v, "m"):
		v, unit = strings.TrimSuffix(v, "m"), 1.0/12
	case strings.HasSuffix(v, "w"):
		v, unit = strings.TrimSuffix(v, "w"), 7.0/365
	case strings.HasSuffix(v, "d"):
		v, unit = strings.TrimSuffix(v, "d"), 1.0/365
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("bad data_lifetime %q: write e.g. 10y, 18m, 90d", s)
	}
	return n * unit, nil
}

// sensitivityWeight maps a sensitivity tag to its weight in Prioritize. An
// unknown value is an error (ReadInventory refuses it) rather than a silent
// "medium": a typo must not rank a critical service lower.
func sensitivityWeight(s string) (float64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "high", "secret", "restricted":
		return 1, nil
	case "medium", "internal", "confidential":
		return 0.6, nil
	case "low", "public":
		return 0.3, nil
	}
	return 0, fmt.Errorf("unknown sensitivity %q: use critical, high, medium or low (also: secret, restricted, confidential, internal, public)", s)
}

// longLivedProtocols hold data that usually outlives a session: databases,
// brokers and directories. Without a data_lifetime tag they are assumed to
// keep data 5 years.
var longLivedProtocols = map[string]bool{
	"postgres": true, "postgresql": true, "postgres-direct": true, "mysql": true, "redis": true, "rediss": true,
	"kafka": true, "amqp": true, "amqps": true, "ldap": true, "mongodb": true, "cassandra": true, "imap": true,
}

// Prioritize computes the harvest-now-decrypt-later priority of a result:
//
//	score = 100 x exposure(verdict) x lifetime(data_lifetime) x sensitivity
//
// exposure: classical, tls12_only and no_tls 1.0; pq_capable 0.7 (default
// clients still classical); pq_ready 0.05. lifetime: >= 10y 1.0, >= 5y 0.8,
// >= 1y 0.5, < 1y 0.2, untagged 0.5 (0.8 for databases and brokers).
// sensitivity: critical/high 1.0, medium 0.6, low 0.3, untagged 0.6. Levels:
// critical >= 70, high >= 40, medium >= 15, low > 0. Error verdicts get level
// "unknown".
func Prioritize(r *Result) Priority {
	if !r.Verdict.Scanned() {
		return Priority{Level: "unknown", Rationale: "not assessed (" + string(r.Verdict) + "): fix reachability and rescan"}
	}
	exposure := 1.0
	switch r.Verdict {
	case VerdictPQReady:
		exposure = 0.05
	case VerdictPQCapable:
		exposure = 0.7
	}
	tags := r.Target.Tags
	life, lifeWhy := 0.5, "data lifetime unknown"
	if v, ok := tags["data_lifetime"]; ok {
		if y, err := ParseLifetime(v); err == nil {
			lifeWhy = "data kept " + v
			switch {
			case y >= 10:
				life = 1
			case y >= 5:
				life = 0.8
			case y >= 1:
				life = 0.5
			default:
				life = 0.2
			}
		}
	} else if longLivedProtocols[strings.ToLower(r.Target.Protocol)] || longLivedProtocols[string(r.StartTLS)] {
		life, lifeWhy = 0.8, "database/broker, data assumed kept 5y"
	}
	sens, sensWhy := 0.6, "sensitivity unknown"
	if v, ok := tags["sensitivity"]; ok {
		if w, err := sensitivityWeight(v); err == nil {
			sens, sensWhy = w, "sensitivity "+v
		}
	}
	score := int(math.Round(100 * exposure * life * sens))
	level := "none"
	switch {
	case score >= 70:
		level = "critical"
	case score >= 40:
		level = "high"
	case score >= 15:
		level = "medium"
	case score > 0:
		level = "low"
	}
	return Priority{Score: score, Level: level, Rationale: fmt.Sprintf("%s; %s; %s", r.Verdict, lifeWhy, sensWhy)}
}
