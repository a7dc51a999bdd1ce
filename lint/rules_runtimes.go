package lint

import (
	"path"
	"strings"
)

// The file kinds of the runtime and database rules (issue 18): numbered
// apart from the core kinds so that the two lists grow independently.
const (
	kindMaven       fileKind = iota + 100 // pom.xml, toolchains.xml
	kindJavaVersion                       // .java-version
	kindPython                            // *.py
	kindMySQL                             // my.cnf, mysqld.cnf, mariadb.cnf
	kindRedis                             // redis.conf, valkey.conf
	kindRabbitMQ                          // rabbitmq.conf
	kindHCL                               // *.hcl (Vault, Consul, Nomad configs)
)

// runtimeKindNames name the runtime kinds (kindNames includes them).
var runtimeKindNames = map[fileKind]string{kindMaven: "Maven POM", kindJavaVersion: ".java-version", kindPython: "Python",
	kindMySQL: "MySQL/MariaDB option file", kindRedis: "redis.conf", kindRabbitMQ: "rabbitmq.conf", kindHCL: "HCL config"}

// runtimeKindByName classifies the files of the runtime and database rules
// by name; kindNone leaves the decision to kindByName.
func runtimeKindByName(lower, ext, dir string) fileKind {
	switch {
	case lower == "pom.xml" || lower == "toolchains.xml":
		return kindMaven
	case lower == ".java-version":
		return kindJavaVersion
	case ext == ".py":
		return kindPython
	case lower == "my.cnf" || lower == "my.ini" || (ext == ".cnf" && (strings.HasPrefix(lower, "mysql") || strings.HasPrefix(lower, "mariadb") ||
		strings.Contains(dir, "mysql") || strings.Contains(dir, "mariadb"))):
		return kindMySQL
	case ext == ".conf" && (strings.HasPrefix(lower, "redis") || strings.HasPrefix(lower, "valkey") || strings.HasPrefix(lower, "sentinel")):
		return kindRedis
	case lower == "rabbitmq.conf" || (ext == ".conf" && strings.HasPrefix(lower, "rabbitmq")):
		return kindRabbitMQ
	case ext == ".hcl":
		return kindHCL
	}
	return kindNone
}

// isGradle reports a Gradle build script (read as kindJava).
func isGradle(name string) bool {
	b := strings.ToLower(path.Base(strings.ReplaceAll(name, "\\", "/")))
	return strings.HasSuffix(b, ".gradle") || strings.HasSuffix(b, ".gradle.kts")
}

// The checkers of the runtime and database rules.
var (
	mavenFile       = &checker{name: "maven", run: func(s *source, _ *checkEnv) []Finding { return checkMaven(s) }}
	javaVersionFile = &checker{name: "java-version", run: func(s *source, _ *checkEnv) []Finding { return checkJavaVersionFile(s) }}
	gradleBuild     = &checker{name: "gradle", run: func(s *source, _ *checkEnv) []Finding { return checkGradle(s) }}
	pythonCode      = lineChecker("python", rulePython)
	mysqlConf       = lineChecker("mysql", ruleMySQL)
	redisConf       = lineChecker("redis", ruleRedis)
	rabbitConf      = &checker{name: "rabbitmq", run: func(s *source, _ *checkEnv) []Finding { return checkRabbitMQ(s) }}
	etcdFlags       = lineChecker("etcd", ruleEtcd)
	javaGroupsCode  = lineChecker("java-named-groups-code", ruleJavaNamedGroups)
	versionCatalog  = &checker{name: "gradle-version-catalog", run: func(s *source, _ *checkEnv) []Finding { return checkVersionCatalog(s) }}
	mysqlFlag       = lineChecker("mysql-flag", ruleMySQLFlag)
	vaultHCL        = lineChecker("vault", ruleVault)
)
