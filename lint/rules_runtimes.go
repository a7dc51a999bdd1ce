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

func init() {
	for k, n := range map[fileKind]string{kindMaven: "Maven POM", kindJavaVersion: ".java-version", kindPython: "Python",
		kindMySQL: "MySQL/MariaDB option file", kindRedis: "redis.conf", kindRabbitMQ: "rabbitmq.conf", kindHCL: "HCL config"} {
		kindNames[k] = n
	}
}

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

const (
	refJEP527    = "https://openjdk.org/jeps/527 (JEP 527: Post-Quantum Hybrid Key Exchange for TLS 1.3)"
	refJEP527CSR = "https://bugs.java.com/bugdatabase/view_bug?bug_id=8369848 (CSR JDK-8369848, approved 2025-12-09: fix version 27; new default list X25519MLKEM768 first)"
	refJDK27     = "https://www.jvm-weekly.com/p/whats-coming-in-jdk-27-and-why-openjdk (JDK 27 schedule: JEP 527 the first JEP targeted to it, GA in September 2026)"
	refBCNotes   = "https://www.bouncycastle.org/download/bouncy-castle-java/ release notes 2.7.3, release 1.81 of 2025-06-04 (BCJSSE: draft support for hybrid ECDHE-MLKEM, draft-ietf-tls-ecdhe-mlkem-00; bc-java tag r1rv81 adds NamedGroup.X25519MLKEM768 = 0x11EC, absent in r1rv80)"
	refPySSL     = "https://docs.python.org/3/library/ssl.html#ssl.SSLContext.set_ecdh_curve (one curve for ECDH key exchange)"
	refMySQLTLS  = "https://dev.mysql.com/doc/refman/8.4/en/encrypted-connection-protocols-ciphers.html (tls_version; TLSv1.3 from 8.0.16 with OpenSSL 1.1.1+)"
	refMariaTLS  = "https://mariadb.com/docs/reference/mdb/system-variables/tls_version/ (tls_version: a SET of TLSv1.0..TLSv1.3)"
	refRedisConf = "https://github.com/redis/redis/blob/unstable/redis.conf (tls-protocols: by default only TLSv1.2 and TLSv1.3 are enabled)"
	refValkey    = "https://github.com/valkey-io/valkey/blob/unstable/valkey.conf (tls-protocols, same syntax as Redis)"
	refRabbitTLS = "https://www.rabbitmq.com/docs/ssl (TLS versions: ssl_options.versions.N; TLSv1.3 support)"
	refEtcdFlags = "https://etcd.io/docs/v3.6/op-guide/configuration/ (--tls-max-version: TLS1.2 or TLS1.3, empty lets Go choose TLS 1.3; every flag also as ETCD_* variable and config-file key)"
	refVaultTCP  = "https://developer.hashicorp.com/vault/docs/configuration/listener/tcp (tls_max_version: tls10, tls11, tls12, tls13; default tls13)"
	refVaultTLS  = "https://developer.hashicorp.com/vault/docs/configuration/listener/tcp/tcp-tls (TLS 1.2 only by setting tls_min_version and tls_max_version to tls12)"
	refConsulTLS = "https://developer.hashicorp.com/consul/docs/reference/agent/configuration-file/tls (agent TLS parameters)"
)

// runtimeRules are the Java, Python and database rules of issue 18.
var runtimeRules = []Rule{
	{ID: "PQ431", Name: "java-jdk-without-hybrid", Severity: SeverityWarning, Format: "Dockerfile (JDK base images), .java-version, Maven POM (maven.compiler.release, toolchains), Gradle (toolchain languageVersion, jvmToolchain)",
		checks:     []ruleCheck{{dockerFile, kinds(kindDockerfile)}, {javaVersionFile, kinds(kindJavaVersion)}, {mavenFile, kinds(kindMaven)}, {gradleBuild, kinds(kindJava)}},
		UpgradeFix: true,
		Checked:    "2026-12-02",
		Summary:    "The JDK is older than 27, the first whose JSSE (SunJSSE) offers hybrid ML-KEM key exchange",
		Rationale:  "JEP 527 adds X25519MLKEM768, SecP256r1MLKEM768 and SecP384r1MLKEM1024 to SunJSSE, X25519MLKEM768 first in the default list, so javax.net.ssl clients and servers negotiate it without code changes. It was delivered in JDK 27 (CSR JDK-8369848, fix version 27); JDK 8, 11, 17, 21, 25 and 26 have ML-KEM (JDK 24+, JEP 496) but no hybrid TLS group, whatever jdk.tls.namedGroups says. What works today: a JDK 27 or later runtime, or Bouncy Castle JSSE (bctls-jdk18on 1.81+, see PQ432) registered as the TLS provider on any JDK. The fix names JDK 27 and is reported, never applied (an upgrade needs a human).",
		Bad:        "FROM eclipse-temurin:21-jre\n<maven.compiler.release>21</maven.compiler.release>\njava { toolchain { languageVersion = JavaLanguageVersion.of(21) } }",
		Good:       "FROM eclipse-temurin:27-jre\n<maven.compiler.release>27</maven.compiler.release>\njava { toolchain { languageVersion = JavaLanguageVersion.of(27) } }",
		Notes:      "Images read: eclipse-temurin, openjdk, amazoncorretto, sapmachine, azul/zulu-openjdk(-debian, -alpine), mcr.microsoft.com/openjdk/jdk, maven and gradle tags that name a JDK (maven:3.9-eclipse-temurin-21, gradle:8-jdk21), gcr.io/distroless/javaNN. ibm-semeru-runtimes is not judged: IBM's OpenJ9 JDK 21 and 25 trees carry their own hybrid key exchange code, whose release we have not verified. maven.compiler.release/source/target and java.version only set the language level, so they are reported as info; toolchains, .java-version and base images pick the JDK that runs, and are warnings. A version range (toolchain [21,)) is not judged.",
		References: []string{refJEP527, refJEP527CSR, refJDK27, refBCNotes}},
	{ID: "PQ432", Name: "java-bctls-without-mlkem", Severity: SeverityWarning, Format: "Maven POM, Gradle (dependencies, version catalogs gradle/libs.versions.toml)",
		checks:     []ruleCheck{{mavenFile, kinds(kindMaven)}, {gradleBuild, kinds(kindJava)}, {versionCatalog, kinds(kindTOML)}},
		UpgradeFix: true,
		Checked:    "2026-12-02",
		Summary:    "Bouncy Castle JSSE (bctls) is older than 1.81, the first release with the ML-KEM hybrid groups",
		Rationale:  "Bouncy Castle's JSSE provider is what gives hybrid key exchange to JDKs older than 27. Its release 1.81 (2025-06-04) added the hybrid ECDHE-MLKEM groups (draft-ietf-tls-ecdhe-mlkem-00: X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024) and X25519MLKEM768 to its default group list; bctls 1.80 and older, and every bctls-jdk15on (the line ended at 1.70), have none. The fix names bctls-jdk18on 1.81 (use the newest release) and is reported, never applied.",
		Bad:        "<artifactId>bctls-jdk18on</artifactId>\n<version>1.80</version>\nimplementation(\"org.bouncycastle:bctls-jdk18on:1.78.1\")",
		Good:       "<artifactId>bctls-jdk18on</artifactId>\n<version>1.81</version>\nimplementation(\"org.bouncycastle:bctls-jdk18on:1.81\")",
		Notes:      "A version from a Maven property (${bouncycastle.version}) is resolved when the POM defines it, and a version catalog's version.ref when [versions] defines it (the finding and the fix are then at the definition); a Gradle variable ($bcVersion) is not judged. bctls-fips has its own numbering and is not judged.",
		References: []string{refBCNotes}},
	{ID: "PQ441", Name: "python-ecdh-curve-classical", Severity: SeverityError, Format: "Python",
		checks:     []ruleCheck{{pythonCode, kinds(kindPython)}},
		Checked:    "2026-12-02",
		Summary:    "ssl.SSLContext.set_ecdh_curve pins one classical curve",
		Rationale:  "set_ecdh_curve takes a single curve name and replaces the group list of the context with it, so a Python client or server that calls it with prime256v1, secp384r1 or X25519 negotiates only that curve, even on OpenSSL 3.5 whose default list is hybrid-first. No hybrid group can be passed there. Delete the call (Python then uses OpenSSL's default groups, hybrid-first from OpenSSL 3.5, see PQ202 for the base image); there is no mechanical fix.",
		Bad:        "ctx.set_ecdh_curve(\"prime256v1\")",
		Good:       "ctx = ssl.create_default_context()   (no set_ecdh_curve call: OpenSSL 3.5's default groups, X25519MLKEM768 first)",
		References: []string{refPySSL, refOpenSSL35}},
	{ID: "PQ451", Name: "mysql-tls-version-without-tls13", Severity: SeverityError, Format: "MySQL/MariaDB option files (my.cnf, mysqld.cnf, mariadb.cnf); --tls-version in any command line",
		checks:     []ruleCheck{{mysqlConf, kinds(kindMySQL)}, {mysqlFlag, textKinds}},
		Checked:    "2026-12-02",
		Summary:    "MySQL/MariaDB tls_version (admin_tls_version) does not include TLSv1.3",
		Rationale:  "tls_version lists the protocols the server accepts. Without TLSv1.3 every connection is TLS 1.2, where no hybrid group exists. The fix appends TLSv1.3 (MySQL 8.0.16+ and MariaDB built with OpenSSL 1.1.1+ support it). TLS 1.3 is necessary, not sufficient: whether the server then offers a hybrid group depends on its TLS library (OpenSSL 3.5+ offers X25519MLKEM768 by default); confirm with pqtls scan.",
		Bad:        "tls_version = TLSv1.2\nmysqld --tls-version=TLSv1.2",
		Good:       "tls_version = TLSv1.2,TLSv1.3\nmysqld --tls-version=TLSv1.2,TLSv1.3",
		References: []string{refMySQLTLS, refMariaTLS}},
	{ID: "PQ452", Name: "redis-tls-protocols-without-tls13", Severity: SeverityError, Format: "redis.conf, valkey.conf, sentinel.conf",
		checks:     []ruleCheck{{redisConf, kinds(kindRedis)}},
		Checked:    "2026-12-02",
		Summary:    "Redis/Valkey tls-protocols does not include TLSv1.3",
		Rationale:  "tls-protocols replaces the default (TLSv1.2 and TLSv1.3). A list without TLSv1.3 keeps every client, replica and cluster-bus connection on TLS 1.2, where no hybrid group exists. The fix adds TLSv1.3; Redis built with OpenSSL 3.5 then negotiates X25519MLKEM768 by default (shown with Debian 13's redis-server by TestInteropLintLoopDebian13). Valkey, forked from Redis 7.2, reads the same directive.",
		Bad:        "tls-protocols \"TLSv1.2\"",
		Good:       "tls-protocols \"TLSv1.2 TLSv1.3\"",
		References: []string{refRedisConf, refValkey, refOpenSSL35}},
	{ID: "PQ453", Name: "rabbitmq-tls-versions-without-tls13", Severity: SeverityError, Format: "rabbitmq.conf",
		checks:     []ruleCheck{{rabbitConf, kinds(kindRabbitMQ)}},
		Checked:    "2026-12-02",
		Summary:    "RabbitMQ ssl_options.versions (or a plugin's ssl.versions) does not include tlsv1.3",
		Rationale:  "The numbered versions keys of a listener (ssl_options.versions.1, management.ssl.versions.1, mqtt.ssl... ) replace the protocols Erlang/OTP would offer. Without tlsv1.3 every connection of that listener is TLS 1.2, where no hybrid group exists. The finding is at the listener's first versions key; the fix adds the next numbered key with tlsv1.3. TLS 1.3 is necessary, not sufficient: the groups offered come from the Erlang/OTP release; confirm with pqtls scan.",
		Bad:        "ssl_options.versions.1 = tlsv1.2",
		Good:       "ssl_options.versions.1 = tlsv1.2\nssl_options.versions.2 = tlsv1.3",
		Notes:      "Only the new-style rabbitmq.conf is read; advanced.config (Erlang terms) is not.",
		References: []string{refRabbitTLS}},
	{ID: "PQ454", Name: "etcd-tls-max-version-below-tls13", Severity: SeverityError, Format: "etcd flags in any command line, ETCD_TLS_MAX_VERSION, etcd YAML config (tls-max-version)",
		checks:     []ruleCheck{{etcdFlags, textKinds}},
		Checked:    "2026-12-02",
		Summary:    "etcd --tls-max-version is TLS1.2",
		Rationale:  "etcd is a Go program: built with Go 1.24 or later its crypto/tls offers X25519MLKEM768 first, but only in TLS 1.3. --tls-max-version TLS1.2 (ETCD_TLS_MAX_VERSION, tls-max-version in the config file) caps client and peer connections at TLS 1.2, so every one is classical. The fix sets TLS1.3 (an empty value lets Go pick TLS 1.3, too).",
		Bad:        "etcd --cert-file=server.pem --key-file=server.key --tls-max-version=TLS1.2\nETCD_TLS_MAX_VERSION=TLS1.2\ntls-max-version: TLS1.2",
		Good:       "etcd --cert-file=server.pem --key-file=server.key --tls-max-version=TLS1.3",
		Notes:      "Read in every configuration format (Kubernetes static pod args, systemd ExecStart, shell, env files, YAML). The value is matched in etcd's spelling (TLS1.2); another program with a --tls-max-version flag that takes that spelling caps its TLS the same way and is reported too.",
		References: []string{refEtcdFlags, refGo124}},
	{ID: "PQ455", Name: "vault-tls-max-version-below-tls13", Severity: SeverityError, Format: "HCL (Vault listener \"tcp\" stanzas, *.hcl)",
		checks:     []ruleCheck{{vaultHCL, kinds(kindHCL)}},
		Checked:    "2026-12-02",
		Summary:    "Vault listener tls_max_version is below tls13",
		Rationale:  "Vault's TCP listener uses Go's crypto/tls, which offers X25519MLKEM768 by default from Go 1.24, in TLS 1.3 only. tls_max_version = \"tls12\" (the documented recipe for custom TLS 1.2 cipher suites) keeps every API and cluster connection to the listener classical. The fix sets tls13; cipher suites configured for TLS 1.2 keep applying to TLS 1.2 clients.",
		Bad:        "listener \"tcp\" {\n  tls_max_version = \"tls12\"\n}",
		Good:       "listener \"tcp\" {\n  tls_max_version = \"tls13\"\n}",
		Notes:      "Every *.hcl file is read, so a tls_max_version of another HashiCorp product in the same spelling is reported too. Consul: its agent TLS reference (tls.defaults, tls.https, tls.grpc, tls.internal_rpc) documents tls_min_version and TLS 1.2 cipher suites, and we found no maximum version or curve list there (checked 2026-12-02), so there is no Consul agent rule; the TLSMaxVersion of Consul's gateway config entries configures Envoy and is not read. Vault's listener has no curve setting; its groups are Go's defaults.",
		References: []string{refVaultTCP, refVaultTLS, refConsulTLS, refGo124}},
}
